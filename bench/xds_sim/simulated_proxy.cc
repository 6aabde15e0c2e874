#include "bench/xds_sim/simulated_proxy.h"

#include <boost/json/array.hpp>

namespace weft::xds_sim {

namespace {

// As in weft-proxy: a stream that stayed up this long proved the control plane healthy.
constexpr auto kHealthyStream = std::chrono::seconds(30);
constexpr size_t kMaxEndpointVersions = 256;

int64_t nanoseconds(Clock::time_point at) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count();
}

}  // namespace

SimulatedProxy::SimulatedProxy(size_t index, Mode mode, StreamContext context, weft::v1::Node node,
                               BackoffOptions backoff, ProxyObserver& observer)
    : index_(index),
      node_(std::move(node)),
      observer_(observer),
      backoff_(backoff),
      reconnect_timer_(context.loop) {
  DiscoveryEvents events;
  events.on_endpoints = [this](EndpointsUpdate&& update) {
    if (endpoint_versions_.size() < kMaxEndpointVersions) {
      endpoint_versions_.push_back({update.version, update.received, update.acked});
    }
    observer_.endpointsReceived(*this, update);
  };
  events.on_synced = [this] {
    synced_at_ = Clock::now();
    observer_.proxySynced(*this);
  };
  events.on_closed = [this](const grpc::Status& status, Clock::time_point established) {
    onClosed(status, established);
  };
  client_ = makeDiscoveryClient(mode, context, node_, std::move(events));
}

SimulatedProxy::~SimulatedProxy() {
  // No report to the observer, which may be going away too.
  stopped_ = true;
  reconnect_timer_.cancel();
  client_->close();
}

void SimulatedProxy::start() {
  stopped_ = false;
  client_->open();
}

void SimulatedProxy::stop() {
  stopped_ = true;
  reconnect_timer_.cancel();
  client_->close();
  if (synced_at_ != Clock::time_point{}) {
    synced_at_ = {};
    observer_.proxyUnsynced(*this);
  }
}

void SimulatedProxy::onClosed(const grpc::Status& status, Clock::time_point established) {
  last_close_ = status;
  if (synced_at_ != Clock::time_point{}) {
    synced_at_ = {};
    observer_.proxyUnsynced(*this);
  }
  if (stopped_) {
    return;
  }
  if (established != Clock::time_point{} && Clock::now() - established >= kHealthyStream) {
    backoff_.reset();
  }
  ++reconnects_;
  reconnect_timer_.expires_after(backoff_.next());
  reconnect_timer_.async_wait([this](const boost::system::error_code& error) {
    if (!error && !stopped_) {
      client_->open();
    }
  });
}

boost::json::object SimulatedProxy::describe() const {
  boost::json::object out;
  out["index"] = index_;
  out["id"] = node_.id();
  out["namespace"] = node_.namespace_();
  out["workload_name"] = node_.workload_name();
  out["reconnects"] = reconnects_;
  out["synced_ns"] = nanoseconds(synced_at_);
  out["established_ns"] = nanoseconds(client_->established());
  if (!last_close_.ok() || reconnects_ > 0) {
    out["last_close"] = std::to_string(static_cast<int>(last_close_.error_code())) + " " +
                        last_close_.error_message();
  }
  const DiscoveryCounters& counters = client_->counters();
  out["streams"] = counters.streams;
  out["responses"] = counters.responses;
  out["acks"] = counters.acks;
  out["nacks"] = counters.nacks;
  out["client"] = client_->describe();
  boost::json::array versions;
  for (const EndpointsVersion& version : endpoint_versions_) {
    versions.push_back(boost::json::object{{"version", version.version},
                                           {"received_ns", nanoseconds(version.received)},
                                           {"acked_ns", nanoseconds(version.acked)}});
  }
  out["endpoint_versions"] = std::move(versions);
  return out;
}

}  // namespace weft::xds_sim
