#include "proxy/xds/ads_state.h"

#include <google/protobuf/util/time_util.h>

#include <map>
#include <memory>

#include "common/config/field_path.h"
#include "common/config/proto_validator.h"
#include "common/version/version.h"
#include "proxy/tls/tls_contexts.h"
#include "weft/v1/authorization.pb.h"
#include "weft/v1/cluster.pb.h"
#include "weft/v1/endpoint.pb.h"
#include "weft/v1/listener.pb.h"
#include "weft/v1/route.pb.h"
#include "weft/v1/secret.pb.h"

namespace weft::proxy::xds {

using config::appendField;
using config::appendIndex;

std::string_view xdsTypeUrl(XdsType type) {
  switch (type) {
    case XdsType::kCluster:
      return "type.googleapis.com/weft.v1.Cluster";
    case XdsType::kEndpoints:
      return "type.googleapis.com/weft.v1.ClusterLoadAssignment";
    case XdsType::kListener:
      return "type.googleapis.com/weft.v1.Listener";
    case XdsType::kRoute:
      return "type.googleapis.com/weft.v1.RouteConfiguration";
    case XdsType::kSecret:
      return "type.googleapis.com/weft.v1.Secret";
    case XdsType::kAuthorization:
      return "type.googleapis.com/weft.v1.AuthorizationPolicy";
  }
  return "";
}

std::string_view xdsTypeName(XdsType type) {
  std::string_view url = xdsTypeUrl(type);
  return url.substr(url.rfind('.') + 1);
}

bool isWildcardType(XdsType type) {
  return type == XdsType::kCluster || type == XdsType::kListener;
}

namespace {

std::unique_ptr<google::protobuf::Message> newMessage(XdsType type) {
  switch (type) {
    case XdsType::kCluster:
      return std::make_unique<weft::v1::Cluster>();
    case XdsType::kEndpoints:
      return std::make_unique<weft::v1::ClusterLoadAssignment>();
    case XdsType::kListener:
      return std::make_unique<weft::v1::Listener>();
    case XdsType::kRoute:
      return std::make_unique<weft::v1::RouteConfiguration>();
    case XdsType::kSecret:
      return std::make_unique<weft::v1::Secret>();
    case XdsType::kAuthorization:
      return std::make_unique<weft::v1::AuthorizationPolicy>();
  }
  return nullptr;
}

// The name a resource is known by: its `name` field, or cluster_name for endpoints.
std::string resourceName(XdsType type, const google::protobuf::Message& message) {
  const auto* descriptor = message.GetDescriptor();
  const auto* field =
      descriptor->FindFieldByName(type == XdsType::kEndpoints ? "cluster_name" : "name");
  return field ? message.GetReflection()->GetString(message, field) : std::string();
}

template <class T>
std::map<std::string, T> parseAll(const weft::v1::DiscoveryResponse& response) {
  std::map<std::string, T> out;
  for (const auto& any : response.resources()) {
    T message;
    if (message.ParseFromString(any.value())) {
      std::string name =
          resourceName(std::is_same_v<T, weft::v1::ClusterLoadAssignment> ? XdsType::kEndpoints
                                                                          : XdsType::kCluster,
                       message);
      out.emplace(std::move(name), std::move(message));
    }
  }
  return out;
}

std::string edsName(const weft::v1::Cluster& cluster) {
  return cluster.eds_service_name().empty() ? cluster.name() : cluster.eds_service_name();
}

}  // namespace

// Where each merged piece of the assembled bootstrap came from.
struct AdsState::Provenance {
  struct Piece {
    XdsType type;
    std::string name;
  };
  std::map<size_t, Piece> clusters;   // static_resources.clusters[i] (dynamic only)
  std::map<size_t, Piece> endpoints;  // static_resources.clusters[i].load_assignment
  std::map<size_t, Piece> listeners;  // static_resources.listeners[i]
  // static_resources.listeners[i].filter_chains[j].http.route_config
  std::map<std::pair<size_t, size_t>, Piece> routes;

  // Maps a bootstrap path to (type, resource name, field inside the resource).
  bool locate(const std::string& path, Piece& piece, std::string& field) const {
    auto index_after = [&](const std::string& prefix, size_t& value, size_t& end) {
      if (path.compare(0, prefix.size(), prefix) != 0) {
        return false;
      }
      end = path.find(']', prefix.size());
      if (end == std::string::npos) {
        return false;
      }
      value = std::stoul(path.substr(prefix.size(), end - prefix.size()));
      ++end;
      return true;
    };
    auto rest = [&](size_t from) {
      std::string tail = path.substr(from);
      return !tail.empty() && tail.front() == '.' ? tail.substr(1) : tail;
    };
    size_t i = 0;
    size_t end = 0;
    if (index_after("static_resources.clusters[", i, end)) {
      static const std::string kAssignment = ".load_assignment";
      if (path.compare(end, kAssignment.size(), kAssignment) == 0 && endpoints.count(i)) {
        piece = endpoints.at(i);
        field = rest(end + kAssignment.size());
        return true;
      }
      if (clusters.count(i)) {
        piece = clusters.at(i);
        field = rest(end);
        return true;
      }
      return false;
    }
    if (index_after("static_resources.listeners[", i, end)) {
      size_t j = 0;
      size_t chain_end = 0;
      const std::string chain_prefix = path.substr(0, end) + ".filter_chains[";
      static const std::string kRouteConfig = ".http.route_config";
      if (index_after(chain_prefix, j, chain_end) &&
          path.compare(chain_end, kRouteConfig.size(), kRouteConfig) == 0 && routes.count({i, j})) {
        piece = routes.at({i, j});
        field = rest(chain_end + kRouteConfig.size());
        return true;
      }
      if (listeners.count(i)) {
        piece = listeners.at(i);
        field = rest(end);
        return true;
      }
    }
    return false;
  }
};

AdsState::AdsState(weft::v1::Bootstrap bootstrap, Build build)
    : bootstrap_(std::move(bootstrap)), build_(std::move(build)) {
  const auto& statics = bootstrap_.static_resources();
  for (const auto& c : statics.clusters())
    static_clusters_.insert(c.name());
  for (const auto& l : statics.listeners())
    static_listeners_.insert(l.name());
  for (const auto& r : statics.route_configurations())
    static_routes_.insert(r.name());
  for (const auto& s : statics.secrets())
    static_secrets_.insert(s.name());
  for (XdsType type : kXdsTypes) {
    accepted_[index(type)].set_type_url(std::string(xdsTypeUrl(type)));
  }
}

std::array<std::set<std::string>, kXdsTypeCount> AdsState::subscriptionsOf(
    const std::array<weft::v1::DiscoveryResponse, kXdsTypeCount>& responses) const {
  std::array<std::set<std::string>, kXdsTypeCount> names;
  auto add_secret = [&](const std::string& name) {
    // "identity" comes from the CA, never over xDS; static secrets are already here.
    if (!name.empty() && name != kIdentitySecret && static_secrets_.count(name) == 0) {
      names[index(XdsType::kSecret)].insert(name);
    }
  };
  // A TLS setting that names no secret uses the defaults (tls_contexts.h), and those are what
  // the proxy must ask for: the control plane's "trust-bundle" carries root rotations to the
  // proxy at once, and takes precedence over the roots that came with the certificate.
  auto add_tls_secrets = [&](const auto& tls) {
    add_secret(tls.certificate_secret());
    add_secret(tls.validation_secret().empty() ? std::string(kTrustBundleSecret)
                                               : tls.validation_secret());
  };
  for (const auto& [name, cluster] :
       parseAll<weft::v1::Cluster>(responses[index(XdsType::kCluster)])) {
    if (cluster.type() == weft::v1::Cluster::EDS) {
      names[index(XdsType::kEndpoints)].insert(edsName(cluster));
    }
    if (cluster.tls().mode() != weft::v1::UpstreamTls::DISABLE) {
      add_tls_secrets(cluster.tls());
    }
  }
  for (const auto& [name, listener] :
       parseAll<weft::v1::Listener>(responses[index(XdsType::kListener)])) {
    for (const auto& chain : listener.filter_chains()) {
      if (chain.has_http() && !chain.http().route_config_name().empty() &&
          static_routes_.count(chain.http().route_config_name()) == 0) {
        names[index(XdsType::kRoute)].insert(chain.http().route_config_name());
      }
      for (const auto& policy : chain.authorization().policies()) {
        names[index(XdsType::kAuthorization)].insert(policy);
      }
      if (chain.has_tls() && chain.tls().mode() != weft::v1::DownstreamTls::DISABLE) {
        add_tls_secrets(chain.tls());
      }
    }
  }
  return names;
}

weft::v1::DiscoveryRequest AdsState::request(XdsType type, const std::string& nonce) const {
  weft::v1::DiscoveryRequest out;
  out.set_type_url(std::string(xdsTypeUrl(type)));
  out.set_version_info(accepted_[index(type)].version_info());
  out.set_response_nonce(nonce);
  if (!isWildcardType(type)) {
    for (const std::string& name : status_[index(type)].names) {
      out.add_resource_names(name);
    }
  }
  return out;
}

void AdsState::setNodeMetadata(const std::string& key, const std::string& value) {
  (*bootstrap_.mutable_node()->mutable_metadata()->mutable_fields())[key].set_string_value(value);
}

std::vector<weft::v1::DiscoveryRequest> AdsState::streamRequests() const {
  std::vector<weft::v1::DiscoveryRequest> out;
  for (XdsType type : kXdsTypes) {
    if (!isWildcardType(type) && status_[index(type)].names.empty()) {
      continue;  // nothing references this type yet
    }
    out.push_back(request(type, ""));
  }
  weft::v1::Node* node = out.front().mutable_node();
  *node = bootstrap_.node();
  if (node->proxy_version().empty()) {
    node->set_proxy_version(std::string(weft::version()));
  }
  return out;
}

weft::v1::Bootstrap AdsState::assembleFrom(
    const std::array<weft::v1::DiscoveryResponse, kXdsTypeCount>& responses,
    Provenance* provenance) const {
  weft::v1::Bootstrap out = bootstrap_;
  auto* statics = out.mutable_static_resources();
  const auto endpoints =
      parseAll<weft::v1::ClusterLoadAssignment>(responses[index(XdsType::kEndpoints)]);
  std::map<std::string, weft::v1::RouteConfiguration> routes;
  for (const auto& any : responses[index(XdsType::kRoute)].resources()) {
    weft::v1::RouteConfiguration route;
    if (route.ParseFromString(any.value())) {
      routes.emplace(route.name(), std::move(route));
    }
  }
  for (const auto& any : responses[index(XdsType::kCluster)].resources()) {
    weft::v1::Cluster cluster;
    if (!cluster.ParseFromString(any.value())) {
      continue;
    }
    const size_t i = static_cast<size_t>(statics->clusters_size());
    if (provenance) {
      provenance->clusters[i] = {XdsType::kCluster, cluster.name()};
    }
    if (cluster.type() == weft::v1::Cluster::EDS) {
      // Endpoints arrive separately; the proxy serves the cluster as a static one with them.
      // A cluster whose endpoints have not arrived has none (warming keeps it from being used
      // until they do, or until the fetch timeout).
      const std::string eds = edsName(cluster);
      cluster.set_type(weft::v1::Cluster::STATIC);
      cluster.clear_eds_service_name();
      if (auto found = endpoints.find(eds); found != endpoints.end()) {
        *cluster.mutable_load_assignment() = found->second;
        cluster.mutable_load_assignment()->clear_cluster_name();
        if (provenance) {
          provenance->endpoints[i] = {XdsType::kEndpoints, eds};
        }
      } else {
        cluster.clear_load_assignment();
      }
    }
    *statics->add_clusters() = std::move(cluster);
  }
  for (const auto& any : responses[index(XdsType::kListener)].resources()) {
    weft::v1::Listener listener;
    if (!listener.ParseFromString(any.value())) {
      continue;
    }
    const size_t i = static_cast<size_t>(statics->listeners_size());
    if (provenance) {
      provenance->listeners[i] = {XdsType::kListener, listener.name()};
    }
    for (int j = 0; j < listener.filter_chains_size(); ++j) {
      auto* chain = listener.mutable_filter_chains(j);
      if (!chain->has_http() || chain->http().route_config_name().empty()) {
        continue;
      }
      const std::string name = chain->http().route_config_name();
      weft::v1::RouteConfiguration inline_routes;
      if (auto found = routes.find(name); found != routes.end()) {
        inline_routes = found->second;
        if (provenance) {
          provenance->routes[{i, static_cast<size_t>(j)}] = {XdsType::kRoute, name};
        }
      } else if (static_routes_.count(name) != 0) {
        for (const auto& r : bootstrap_.static_resources().route_configurations()) {
          if (r.name() == name) {
            inline_routes = r;
          }
        }
      } else {
        // Not (yet) delivered: no virtual hosts, so requests get 404 with a reason.
        inline_routes.set_name(name);
      }
      *chain->mutable_http()->mutable_route_config() = std::move(inline_routes);
    }
    *statics->add_listeners() = std::move(listener);
  }
  std::set<std::string> secret_names = static_secrets_;
  for (const auto& any : responses[index(XdsType::kSecret)].resources()) {
    weft::v1::Secret* secret = statics->add_secrets();
    secret->ParseFromString(any.value());
    secret_names.insert(secret->name());
  }
  for (const weft::v1::Secret& secret : local_secrets_) {
    if (secret_names.insert(secret.name()).second) {
      *statics->add_secrets() = secret;
    }
  }
  for (const auto& any : responses[index(XdsType::kAuthorization)].resources()) {
    statics->add_authorization_policies()->ParseFromString(any.value());
  }
  return out;
}

weft::v1::Bootstrap AdsState::assemble() const {
  return assembleFrom(accepted_, nullptr);
}

void AdsState::setLocalSecrets(std::vector<weft::v1::Secret> secrets) {
  local_secrets_ = std::move(secrets);
}

weft::v1::Bootstrap AdsState::assembleApplied() const {
  return assembleFrom(applied_accepted_, nullptr);
}

bool AdsState::check(XdsType type, const weft::v1::DiscoveryResponse& response,
                     std::array<weft::v1::DiscoveryResponse, kXdsTypeCount>& candidate,
                     SnapshotPtr& snapshot, weft::v1::ErrorDetail& error) const {
  error.set_code(3);  // INVALID_ARGUMENT unless said otherwise
  std::set<std::string> names;
  weft::v1::DiscoveryResponse kept;
  kept.set_type_url(response.type_url());
  kept.set_version_info(response.version_info());
  kept.set_nonce(response.nonce());
  kept.set_control_plane(response.control_plane());
  size_t problems = 0;
  auto note = [&](std::string resource, std::string field, std::string message) {
    if (problems++ == 0) {
      error.set_resource_name(std::move(resource));
      error.set_field(std::move(field));
      error.set_message(std::move(message));
    }
  };
  const std::set<std::string>& statics = type == XdsType::kCluster    ? static_clusters_
                                         : type == XdsType::kListener ? static_listeners_
                                         : type == XdsType::kRoute    ? static_routes_
                                                                      : static_secrets_;
  for (int i = 0; i < response.resources_size(); ++i) {
    const auto& any = response.resources(i);
    if (any.type_url() != response.type_url()) {
      note("", appendIndex("resources", static_cast<size_t>(i)),
           "resource of type " + any.type_url() + " in a response of type " + response.type_url());
      continue;
    }
    std::unique_ptr<google::protobuf::Message> message = newMessage(type);
    if (!message->ParseFromString(any.value())) {
      note("", appendIndex("resources", static_cast<size_t>(i)),
           "not a valid serialized " + std::string(xdsTypeName(type)));
      continue;
    }
    const std::string name = resourceName(type, *message);
    if (config::ConfigErrors errors = config::validateMessage(*message); !errors.empty()) {
      note(name, errors.front().field_path, errors.front().reason);
      problems += errors.size() - 1;
      continue;
    }
    if (!names.insert(name).second) {
      note(name, "", "two resources named \"" + name + "\" in one response");
      continue;
    }
    if (type == XdsType::kSecret && name == "identity") {
      note(name, "name", "\"identity\" is reserved for the certificate the proxy requests itself");
      continue;
    }
    if (type != XdsType::kEndpoints && type != XdsType::kAuthorization &&
        statics.count(name) != 0) {
      note(name, "name", "a static resource of the bootstrap already has this name");
      continue;
    }
    *kept.add_resources() = any;
  }
  if (problems == 0) {
    candidate[index(type)] = std::move(kept);
    Provenance provenance;
    const weft::v1::Bootstrap assembled = assembleFrom(candidate, &provenance);
    config::ConfigErrors errors;
    snapshot = build_(assembled, errors);
    if (!snapshot) {
      for (const config::ConfigError& e : errors) {
        Provenance::Piece piece{};
        std::string field;
        if (provenance.locate(e.field_path, piece, field)) {
          std::string message = e.reason;
          if (piece.type != type) {
            message = std::string(xdsTypeName(piece.type)) + " \"" + piece.name + "\": " + message;
          }
          note(piece.name, field, message);
        } else {
          note("", e.field_path, e.reason);
        }
      }
      if (problems == 0) {
        note("", "", "the configuration was refused");
      }
    }
  }
  if (problems > 1) {
    error.set_message(error.message() + " (and " + std::to_string(problems - 1) + " more errors)");
  }
  if (error.message().size() > 4096) {
    error.mutable_message()->resize(4096);
  }
  return problems == 0;
}

AdsState::Outcome AdsState::onResponse(const weft::v1::DiscoveryResponse& response) {
  Outcome outcome;
  const auto found = std::find_if(kXdsTypes.begin(), kXdsTypes.end(),
                                  [&](XdsType t) { return xdsTypeUrl(t) == response.type_url(); });
  if (found == kXdsTypes.end()) {
    outcome.reply.set_type_url(response.type_url());
    outcome.reply.set_response_nonce(response.nonce());
    outcome.reply.mutable_error_detail()->set_code(12);  // UNIMPLEMENTED
    outcome.reply.mutable_error_detail()->set_message("unknown resource type " +
                                                      response.type_url());
    return outcome;
  }
  const XdsType type = *found;
  XdsTypeStatus& status = status_[index(type)];
  if (!response.version_info().empty() &&
      response.version_info() == accepted_[index(type)].version_info()) {
    // The same content as held (a reconnect confirming the version): nothing to rebuild.
    accepted_[index(type)].set_nonce(response.nonce());
    outcome.accepted = true;
    outcome.unchanged = true;
    outcome.reply = request(type, response.nonce());
    ++status.accepted;
    return outcome;
  }
  std::array<weft::v1::DiscoveryResponse, kXdsTypeCount> candidate = accepted_;
  weft::v1::ErrorDetail error;
  SnapshotPtr snapshot;
  if (!check(type, response, candidate, snapshot, error)) {
    ++status.rejected;
    status.last_error = error;
    outcome.reply = request(type, response.nonce());
    *outcome.reply.mutable_error_detail() = error;
    return outcome;
  }
  accepted_ = std::move(candidate);
  ++status.accepted;
  status.version = response.version_info();
  status.resources = static_cast<size_t>(response.resources_size());
  outcome.accepted = true;
  outcome.snapshot = std::move(snapshot);
  outcome.reply = request(type, response.nonce());

  // A new set of clusters or listeners may reference other endpoints, routes, secrets or
  // policies: the subscriptions follow.
  const auto subscriptions = subscriptionsOf(accepted_);
  for (XdsType other : kXdsTypes) {
    if (isWildcardType(other) || subscriptions[index(other)] == status_[index(other)].names) {
      continue;
    }
    status_[index(other)].names = subscriptions[index(other)];
    outcome.subscription_changes.push_back(request(other, ""));
  }
  return outcome;
}

void AdsState::markApplied() {
  applied_accepted_ = accepted_;
  applied_status_ = status_;
}

std::vector<weft::v1::DiscoveryRequest> AdsState::rejectUnapplied(
    const weft::v1::ErrorDetail& error) {
  std::vector<XdsType> unapplied;
  std::array<std::string, kXdsTypeCount> nonces;
  std::array<uint64_t, kXdsTypeCount> accepted_counts{};
  for (XdsType type : kXdsTypes) {
    const weft::v1::DiscoveryResponse& now = accepted_[index(type)];
    const weft::v1::DiscoveryResponse& running = applied_accepted_[index(type)];
    if (now.nonce() != running.nonce() || now.version_info() != running.version_info()) {
      unapplied.push_back(type);
    }
    nonces[index(type)] = now.nonce();
    accepted_counts[index(type)] = status_[index(type)].accepted;
  }
  accepted_ = applied_accepted_;
  std::array<XdsTypeStatus, kXdsTypeCount> previous = std::move(status_);
  status_ = applied_status_;
  for (XdsType type : kXdsTypes) {
    // Counters count what happened; only versions and subscriptions go back.
    status_[index(type)].accepted = accepted_counts[index(type)];
    status_[index(type)].rejected = previous[index(type)].rejected;
    status_[index(type)].last_error = previous[index(type)].last_error;
  }
  std::vector<weft::v1::DiscoveryRequest> nacks;
  for (XdsType type : unapplied) {
    XdsTypeStatus& status = status_[index(type)];
    ++status.rejected;
    status.last_error = error;
    weft::v1::DiscoveryRequest nack = request(type, nonces[index(type)]);
    *nack.mutable_error_detail() = error;
    nacks.push_back(std::move(nack));
  }
  return nacks;
}

bool AdsState::complete() const {
  for (XdsType type : kXdsTypes) {
    if (isWildcardType(type)) {
      continue;
    }
    std::set<std::string> present;
    for (const auto& any : accepted_[index(type)].resources()) {
      std::unique_ptr<google::protobuf::Message> message = newMessage(type);
      if (message->ParseFromString(any.value())) {
        present.insert(resourceName(type, *message));
      }
    }
    for (const std::string& name : status_[index(type)].names) {
      if (present.count(name) == 0) {
        return false;
      }
    }
  }
  return true;
}

bool AdsState::restore(const weft::v1::PersistedResources& persisted, std::string& error) {
  AdsState trial(bootstrap_, build_);
  // Clusters first, listeners after, then the types they reference: the order a control plane
  // would send them in, so each one validates against what it needs.
  for (XdsType type : {XdsType::kSecret, XdsType::kCluster, XdsType::kEndpoints,
                       XdsType::kAuthorization, XdsType::kRoute, XdsType::kListener}) {
    for (const auto& response : persisted.responses()) {
      if (response.type_url() != xdsTypeUrl(type)) {
        continue;
      }
      Outcome outcome = trial.onResponse(response);
      if (!outcome.accepted) {
        error = std::string(xdsTypeName(type)) + " " +
                outcome.reply.error_detail().resource_name() + " " +
                outcome.reply.error_detail().field() + ": " +
                outcome.reply.error_detail().message();
        return false;
      }
    }
  }
  accepted_ = trial.accepted_;
  status_ = trial.status_;
  const auto subscriptions = subscriptionsOf(accepted_);
  for (XdsType type : kXdsTypes) {
    if (!isWildcardType(type)) {
      status_[index(type)].names = subscriptions[index(type)];
    }
  }
  return true;
}

weft::v1::PersistedResources AdsState::persisted() const {
  weft::v1::PersistedResources out;
  for (XdsType type : kXdsTypes) {
    if (!accepted_[index(type)].version_info().empty()) {
      *out.add_responses() = accepted_[index(type)];
    }
  }
  *out.mutable_written_at() = google::protobuf::util::TimeUtil::GetCurrentTime();
  return out;
}

std::string AdsState::versionSummary() const {
  std::string out;
  for (XdsType type : kXdsTypes) {
    const std::string& version = accepted_[index(type)].version_info();
    if (version.empty()) {
      continue;
    }
    if (!out.empty()) {
      out += ' ';
    }
    out += std::string(xdsTypeName(type)) + "=" + version;
  }
  return out;
}

bool AdsState::hasDynamicResources() const {
  for (const auto& response : accepted_) {
    if (!response.version_info().empty()) {
      return true;
    }
  }
  return false;
}

}  // namespace weft::proxy::xds
