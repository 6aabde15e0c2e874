#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>

#include "proxy/upstream/lb/lb_config.h"

namespace weft::proxy::lb {

// What a load balancer may do with a host, derived from every health source.
enum class HostHealth : uint8_t {
  kHealthy,    // takes traffic
  kDegraded,   // takes traffic only when healthy hosts fall short
  kUnhealthy,  // takes traffic only in panic mode
  kDraining,   // never takes new requests
};

// Independent reasons that affect a host's health, one bit each so that every source (the
// control plane, active health checking, outlier detection) sets and clears its own without
// knowing about the others. A host's health is the worst that applies: draining, then unhealthy
// (EDS, failed health check, ejected), then degraded.
enum class HostFlag : uint8_t {
  kEdsUnhealthy = 1 << 0,
  kEdsDegraded = 1 << 1,
  kEdsDraining = 1 << 2,
  kFailedActiveHealthCheck = 1 << 3,
  kDegradedActiveHealthCheck = 1 << 4,
  kOutlierEjected = 1 << 5,
};

// One upstream endpoint as one worker sees it: the immutable description from the snapshot
// plus that worker's mutable state (active requests, health flags). Owned by a PrioritySet;
// pointers to it stay valid for the PrioritySet's lifetime. Not thread-safe: one worker only.
class Host {
 public:
  Host(const EndpointConfig& config, uint32_t index, uint32_t level, uint32_t priority,
       uint32_t locality);

  const boost::asio::ip::tcp::endpoint& address() const { return address_; }
  // "ip:port" ("[v6]:port"): what consistent hashing places on the ring and in the Maglev table.
  const std::string& hashKey() const { return hash_key_; }
  uint32_t weight() const { return weight_; }

  // Position in PrioritySet::hosts() (the cluster's endpoints in config order).
  uint32_t index() const { return index_; }
  // Position of the host's priority level in PrioritySet::levels().
  uint32_t level() const { return level_; }
  // The API priority (0 is the highest).
  uint32_t priority() const { return priority_; }
  // Position of the host's locality among the localities of its level.
  uint32_t locality() const { return locality_; }

  HostHealth health() const;
  bool hasFlag(HostFlag flag) const { return (flags_ & static_cast<uint8_t>(flag)) != 0; }

  // Requests in flight to this host from this worker: the caller counts a request from the
  // moment it is assigned to the host until its response completes or fails. Least-request
  // balancing compares these.
  uint32_t activeRequests() const { return active_requests_; }
  void requestStarted() { ++active_requests_; }
  void requestFinished() {
    if (active_requests_ > 0) {
      --active_requests_;
    }
  }

 private:
  friend class PrioritySet;  // flags change only through PrioritySet::setFlag

  boost::asio::ip::tcp::endpoint address_;
  std::string hash_key_;
  uint32_t weight_;
  uint32_t index_;
  uint32_t level_;
  uint32_t priority_;
  uint32_t locality_;
  uint32_t active_requests_ = 0;
  uint8_t flags_ = 0;
};

}  // namespace weft::proxy::lb
