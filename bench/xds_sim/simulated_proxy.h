#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench/xds_sim/discovery_client.h"
#include "common/backoff/exponential_backoff.h"
#include "weft/v1/core.pb.h"

namespace weft::xds_sim {

class SimulatedProxy;

// What the simulator learns from its proxies, on the loop thread.
class ProxyObserver {
 public:
  virtual ~ProxyObserver() = default;
  virtual void proxySynced(SimulatedProxy& proxy) = 0;
  // The stream of a synced proxy ended.
  virtual void proxyUnsynced(SimulatedProxy& proxy) = 0;
  virtual void endpointsReceived(SimulatedProxy& proxy, const EndpointsUpdate& update) = 0;
};

// One endpoints response as the proxy recorded it.
struct EndpointsVersion {
  std::string version;
  Clock::time_point received;
  Clock::time_point acked;
};

// One simulated proxy: a node, a discovery client of the chosen variant, and the reconnect
// policy of weft-proxy (proxy/xds/ads_client.cc): after a stream ends, wait
// ExponentialBackoff::next() (equal jitter; base 0.5 s, cap 30 s by default) and open the next;
// a stream that stayed up 30 s resets the backoff. Lives on the loop thread.
class SimulatedProxy {
 public:
  SimulatedProxy(size_t index, Mode mode, StreamContext context, weft::v1::Node node,
                 BackoffOptions backoff, ProxyObserver& observer);
  ~SimulatedProxy();

  SimulatedProxy(const SimulatedProxy&) = delete;
  SimulatedProxy& operator=(const SimulatedProxy&) = delete;

  // Opens the first stream.
  void start();
  // Ends the stream and stops reconnecting.
  void stop();

  size_t index() const { return index_; }
  const weft::v1::Node& node() const { return node_; }
  const DiscoveryClient& client() const { return *client_; }
  bool synced() const { return client_->synced(); }
  // When the current stream became synced; epoch while it is not.
  Clock::time_point syncedAt() const { return synced_at_; }
  uint64_t reconnects() const { return reconnects_; }
  boost::json::object describe() const;

 private:
  void onClosed(const grpc::Status& status, Clock::time_point established);

  size_t index_;
  weft::v1::Node node_;
  ProxyObserver& observer_;
  std::unique_ptr<DiscoveryClient> client_;
  ExponentialBackoff backoff_;
  boost::asio::steady_timer reconnect_timer_;
  bool stopped_ = false;
  Clock::time_point synced_at_{};
  uint64_t reconnects_ = 0;
  grpc::Status last_close_;
  // Bounded: the first endpoints responses of a run tell the story; a long run keeps only them.
  std::vector<EndpointsVersion> endpoint_versions_;
};

}  // namespace weft::xds_sim
