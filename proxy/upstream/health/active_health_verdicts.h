#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace weft::proxy {

// Active health checking's verdict on each endpoint of one cluster of one snapshot (by
// Host::index()): written by the main thread's HealthChecker, read by every worker. A worker
// compares generation() with the one it last applied and, only when it moved, copies the
// verdicts into its PrioritySet's kFailedActiveHealthCheck flags; a request to a checked
// cluster pays one relaxed atomic load, other clusters nothing.
class ActiveHealthVerdicts {
 public:
  // Every endpoint starts as failed: none takes traffic before its first successful probe,
  // unless the checker carries an earlier verdict over (HealthChecker::adopt).
  explicit ActiveHealthVerdicts(size_t endpoints);

  size_t size() const { return size_; }
  bool failed(size_t index) const { return failed_[index].load(std::memory_order_relaxed); }
  // Sets one verdict; the release on the generation publishes it.
  void set(size_t index, bool failed);
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  std::unique_ptr<std::atomic<bool>[]> failed_;
  size_t size_;
  std::atomic<uint64_t> generation_{1};
};

}  // namespace weft::proxy
