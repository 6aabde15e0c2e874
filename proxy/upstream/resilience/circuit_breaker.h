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
  std::atomic<uint32_t> open_connections{0};
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

// One place taken in a circuit-breaker count, given back when destroyed.
class CircuitSlot {
 public:
  CircuitSlot() = default;
  CircuitSlot(const CircuitSlot&) = delete;
  CircuitSlot& operator=(const CircuitSlot&) = delete;
  CircuitSlot(CircuitSlot&& other) noexcept : count_(other.count_) { other.count_ = nullptr; }
  CircuitSlot& operator=(CircuitSlot&& other) noexcept {
    if (this != &other) {
      release();
      count_ = other.count_;
      other.count_ = nullptr;
    }
    return *this;
  }
  ~CircuitSlot() { release(); }

  // Takes a place in `count` if it is below `limit`; false (and no place) otherwise.
  bool tryTake(std::atomic<uint32_t>& count, uint32_t limit) {
    release();
    if (count.fetch_add(1, std::memory_order_relaxed) >= limit) {
      count.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    count_ = &count;
    return true;
  }
  bool held() const { return count_ != nullptr; }
  void release() {
    if (count_ != nullptr) {
      count_->fetch_sub(1, std::memory_order_relaxed);
      count_ = nullptr;
    }
  }

 private:
  std::atomic<uint32_t>* count_ = nullptr;
};

}  // namespace weft::proxy
