#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace weft::proxy {

// A cluster's circuit-breaker thresholds (CircuitBreakers.Thresholds, default
// priority).
struct CircuitBreakerLimits {
  uint32_t max_connections = 1024;
  uint32_t max_pending_requests = 1024;
  uint32_t max_requests = 1024;
  uint32_t max_retries = 0;  // 0: only the retry budget limits retries
};

// A cluster's circuit-breaker counts: what is open, waiting and in flight to
// it from this proxy, all workers together. Relaxed atomics: a limit may be
// passed by as many requests as race for its last place, never more.
//
// One object per cluster name for the life of the process (while any snapshot
// names the cluster), so that a config change does not forget the requests in
// flight: they go on counting against the same numbers as the new requests.
struct ClusterCircuitCounts {
  std::atomic<uint32_t> open_connections{0};  // HTTP/1.1: what max_connections bounds
  // Multiplexed HTTP/2 connections: shown with open_connections in the pool gauge, but kept
  // apart so that a cluster switched to HTTP/1.1 does not find its places taken by draining
  // HTTP/2 connections (max_connections bounds HTTP/1.1 only).
  std::atomic<uint32_t> open_http2_connections{0};
  std::atomic<uint32_t> pending_requests{0};
  std::atomic<uint32_t> active_requests{0};
  std::atomic<uint32_t> active_retries{0};

  // The counts of the cluster named `name`: the ones snapshots already share,
  // or new ones. Called while building a snapshot, never on the request path.
  static std::shared_ptr<ClusterCircuitCounts> forCluster(const std::string& name);
};

// Why a circuit breaker refused: "cluster 'shop' has 1024 requests in flight
// (circuit breaker max_requests)".
std::string circuitOverflowDetail(const std::string& cluster, uint32_t limit, std::string_view what,
                                  std::string_view setting);

// One place taken in a circuit-breaker count, given back when destroyed. It
// shares ownership of the counts: a pooled upstream connection can outlive
// every snapshot that names its cluster, and must still give its place back
// to live memory.
class CircuitSlot {
 public:
  using Count = std::atomic<uint32_t> ClusterCircuitCounts::*;

  CircuitSlot() = default;
  CircuitSlot(const CircuitSlot&) = delete;
  CircuitSlot& operator=(const CircuitSlot&) = delete;
  CircuitSlot(CircuitSlot&& other) noexcept = default;
  CircuitSlot& operator=(CircuitSlot&& other) noexcept {
    if (this != &other) {
      release();
      counts_ = std::move(other.counts_);
      count_ = other.count_;
    }
    return *this;
  }
  ~CircuitSlot() { release(); }

  // Takes a place in `counts`.*`count` if it is below `limit`; false (and no
  // place) otherwise.
  bool tryTake(const std::shared_ptr<ClusterCircuitCounts>& counts, Count count, uint32_t limit) {
    release();
    std::atomic<uint32_t>& value = (*counts).*count;
    if (value.fetch_add(1, std::memory_order_relaxed) >= limit) {
      value.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    counts_ = counts;
    count_ = count;
    return true;
  }
  bool held() const { return counts_ != nullptr; }
  // Whether the place is in `counts` (a pooled connection serves only its own cluster's count).
  bool countsIn(const ClusterCircuitCounts* counts) const { return counts_.get() == counts; }
  void release() {
    if (counts_ != nullptr) {
      ((*counts_).*count_).fetch_sub(1, std::memory_order_relaxed);
      counts_.reset();
    }
  }

 private:
  std::shared_ptr<ClusterCircuitCounts> counts_;
  Count count_ = nullptr;
};

}  // namespace weft::proxy
