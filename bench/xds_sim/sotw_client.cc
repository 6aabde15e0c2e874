#include "bench/xds_sim/sotw_client.h"

#include <boost/json/array.hpp>

#include "weft/v1/cluster.pb.h"
#include "weft/v1/listener.pb.h"
#include "weft/v1/route.pb.h"

namespace weft::xds_sim {

namespace {

template <typename Message>
bool parseAny(const google::protobuf::Any& any, const std::string& type_url, Message& out) {
  return any.type_url() == type_url && out.ParseFromString(any.value());
}

boost::json::array toJson(const std::set<std::string>& names) {
  boost::json::array out;
  for (const std::string& name : names) {
    out.emplace_back(name);
  }
  return out;
}

}  // namespace

SotwClient::SotwClient(StreamContext context, weft::v1::Node node, DiscoveryEvents events)
    : context_(context), node_(std::move(node)), events_(std::move(events)) {}

SotwClient::~SotwClient() {
  close();
}

const std::string& SotwClient::typeUrl(size_t type) {
  static const std::array<std::string, kTypeCount> kUrls = {
      "type.googleapis.com/weft.v1.Cluster", "type.googleapis.com/weft.v1.Listener",
      "type.googleapis.com/weft.v1.ClusterLoadAssignment",
      "type.googleapis.com/weft.v1.RouteConfiguration"};
  return kUrls[type];
}

std::optional<size_t> SotwClient::typeOf(const std::string& url) {
  for (size_t type = 0; type < kTypeCount; ++type) {
    if (typeUrl(type) == url) {
      return type;
    }
  }
  return std::nullopt;
}

void SotwClient::open() {
  if (call_) {
    return;
  }
  ++counters_.streams;
  node_sent_ = false;
  synced_ = false;
  established_ = {};
  for (TypeState& state : types_) {
    state.answered = false;
  }
  // The conversion to the private base is only allowed in here, not inside make_shared.
  CallOwner<weft::v1::DiscoveryResponse>* owner = this;
  call_ = std::make_shared<SotwCall>(context_, owner, ++call_id_);
  call_->start([stub = &context_.stub](grpc::ClientContext* context, SotwCall::Reactor* reactor) {
    stub->async()->StreamResources(context, reactor);
  });
  // Like a proxy that reconnects: every subscription again, with the versions it holds and an
  // empty nonce, so an unchanged control plane answers with the same versions.
  for (size_t type = 0; type < kTypeCount; ++type) {
    if (!byName(type) || !types_[type].names.empty()) {
      send(request(type, ""));
    }
  }
}

void SotwClient::close() {
  if (call_) {
    call_->cancel();
    call_.reset();
  }
  synced_ = false;
}

bool SotwClient::subscribesEndpoints(const std::string& name) const {
  return types_[kEndpoints].names.count(name) != 0;
}

weft::v1::DiscoveryRequest SotwClient::request(size_t type, const std::string& nonce) const {
  weft::v1::DiscoveryRequest out;
  out.set_type_url(typeUrl(type));
  out.set_version_info(types_[type].version);
  out.set_response_nonce(nonce);
  for (const std::string& name : types_[type].names) {
    out.add_resource_names(name);
  }
  return out;
}

void SotwClient::send(weft::v1::DiscoveryRequest request) {
  if (!call_) {
    return;
  }
  if (!node_sent_) {
    *request.mutable_node() = node_;  // the control plane needs it in the first request only
    node_sent_ = true;
  }
  call_->send(std::move(request));
}

std::string SotwClient::accept(size_t type, const weft::v1::DiscoveryResponse& response,
                               std::set<std::string>& held, EndpointsUpdate& update) {
  const std::string& url = typeUrl(type);
  std::set<std::string> endpoints_wanted;
  std::set<std::string> routes_wanted;
  for (const google::protobuf::Any& any : response.resources()) {
    switch (type) {
      case kCluster: {
        weft::v1::Cluster cluster;
        if (!parseAny(any, url, cluster)) {
          return "a resource is not a weft.v1.Cluster";
        }
        if (cluster.type() == weft::v1::Cluster::EDS) {
          endpoints_wanted.insert(cluster.eds_service_name().empty() ? cluster.name()
                                                                     : cluster.eds_service_name());
        }
        break;
      }
      case kListener: {
        weft::v1::Listener listener;
        if (!parseAny(any, url, listener)) {
          return "a resource is not a weft.v1.Listener";
        }
        for (const weft::v1::FilterChain& chain : listener.filter_chains()) {
          if (chain.has_http() && !chain.http().route_config_name().empty()) {
            routes_wanted.insert(chain.http().route_config_name());
          }
        }
        break;
      }
      case kEndpoints: {
        weft::v1::ClusterLoadAssignment assignment;
        if (!parseAny(any, url, assignment)) {
          return "a resource is not a weft.v1.ClusterLoadAssignment";
        }
        held.insert(assignment.cluster_name());
        update.assignments.push_back(std::move(assignment));
        break;
      }
      case kRoute: {
        weft::v1::RouteConfiguration routes;
        if (!parseAny(any, url, routes)) {
          return "a resource is not a weft.v1.RouteConfiguration";
        }
        held.insert(routes.name());
        break;
      }
      default:
        break;
    }
  }
  if (type == kCluster) {
    held = std::move(endpoints_wanted);
  } else if (type == kListener) {
    held = std::move(routes_wanted);
  }
  return {};
}

void SotwClient::onResponse(uint64_t call_id, weft::v1::DiscoveryResponse response,
                            Clock::time_point received) {
  if (call_id != call_id_ || !call_) {
    return;  // a response of a stream already replaced
  }
  ++counters_.responses;
  if (established_ == Clock::time_point{}) {
    established_ = received;
  }
  const std::optional<size_t> found = typeOf(response.type_url());
  if (!found) {
    weft::v1::DiscoveryRequest nack;
    nack.set_type_url(response.type_url());
    nack.set_response_nonce(response.nonce());
    nack.mutable_error_detail()->set_code(12);  // UNIMPLEMENTED
    nack.mutable_error_detail()->set_message("the simulator does not follow this type");
    ++counters_.nacks;
    send(std::move(nack));
    return;
  }
  const size_t type = *found;
  TypeState& state = types_[type];
  // For Cluster and Listener: the names they reference; for the by-name types: the names the
  // response holds.
  std::set<std::string> names;
  EndpointsUpdate update;
  if (std::string error = accept(type, response, names, update); !error.empty()) {
    weft::v1::DiscoveryRequest nack = request(type, response.nonce());
    nack.mutable_error_detail()->set_code(3);  // INVALID_ARGUMENT
    nack.mutable_error_detail()->set_message(error);
    ++counters_.nacks;
    send(std::move(nack));
    return;
  }
  state.version = response.version_info();
  state.answered = true;
  if (byName(type)) {
    state.held = std::move(names);
  }
  send(request(type, response.nonce()));
  const Clock::time_point acked = Clock::now();
  ++counters_.acks;
  if (type == kCluster) {
    subscribe(kEndpoints, std::move(names));
  } else if (type == kListener) {
    subscribe(kRoute, std::move(names));
  }
  if (type == kEndpoints && events_.on_endpoints) {
    update.version = response.version_info();
    update.received = received;
    update.acked = acked;
    events_.on_endpoints(std::move(update));
  }
  if (!synced_ && complete()) {
    synced_ = true;
    if (events_.on_synced) {
      events_.on_synced();
    }
  }
}

void SotwClient::subscribe(size_t type, std::set<std::string> wanted) {
  TypeState& state = types_[type];
  if (wanted == state.names) {
    return;
  }
  state.names = std::move(wanted);
  ++counters_.subscription_changes;
  send(request(type, ""));
}

bool SotwClient::complete() const {
  for (size_t type = 0; type < kTypeCount; ++type) {
    const TypeState& state = types_[type];
    if (!byName(type)) {
      if (!state.answered) {
        return false;
      }
      continue;
    }
    if (state.names.empty()) {
      continue;
    }
    if (!state.answered) {
      return false;
    }
    for (const std::string& name : state.names) {
      if (state.held.count(name) == 0) {
        return false;
      }
    }
  }
  return true;
}

void SotwClient::onClosed(uint64_t call_id, grpc::Status status) {
  if (call_id != call_id_ || !call_) {
    return;
  }
  call_.reset();
  synced_ = false;
  const Clock::time_point established = established_;
  if (events_.on_closed) {
    events_.on_closed(status, established);
  }
}

boost::json::object SotwClient::describe() const {
  static constexpr std::array<const char*, kTypeCount> kNames = {"cluster", "listener", "endpoints",
                                                                 "route"};
  boost::json::object out;
  out["mode"] = modeName(Mode::kStateOfTheWorld);
  out["stream_open"] = call_ != nullptr;
  out["synced"] = synced_;
  boost::json::object types;
  for (size_t type = 0; type < kTypeCount; ++type) {
    boost::json::object state;
    state["version"] = types_[type].version;
    state["answered"] = types_[type].answered;
    if (byName(type)) {
      state["names"] = toJson(types_[type].names);
      state["held"] = types_[type].held.size();
    }
    types[kNames[type]] = std::move(state);
  }
  out["types"] = std::move(types);
  return out;
}

}  // namespace weft::xds_sim
