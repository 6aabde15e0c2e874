#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "proxy/snapshot/snapshot.h"

namespace weft::proxy {

// The backend of a weighted split for one ticket of the worker's counter (see
// WeightedPicker): no shared state, no locks, no allocation. Null when the split
// is empty.
inline const WeightedClusterRef* pickBackend(const std::vector<WeightedClusterRef>& backends,
                                             const WeightedPicker& picker, uint64_t ticket) {
  if (backends.empty()) {
    return nullptr;
  }
  if (backends.size() > 1) {
    uint64_t point = picker.point(ticket);
    for (const WeightedClusterRef& candidate : backends) {
      if (point < candidate.weight) {
        return &candidate;
      }
      point -= candidate.weight;
    }
  }
  return &backends.front();
}

// The host of `cluster` this worker's load balancer chooses, or null when none
// can take traffic (no endpoints, or none healthy and panic mode is off).
// `excluded`: hosts earlier attempts already tried, avoided while others exist.
inline lb::Host* chooseHost(const ClusterConfig& cluster, uint32_t worker_index,
                            std::optional<uint64_t> hash = std::nullopt,
                            std::span<const lb::Host* const> excluded = {}) {
  lb::LbContext context;
  context.hash = hash;
  context.excluded = excluded;
  return cluster.workerState(worker_index).balancer->choose(context);
}

// Counts a request against its host from assignment until it ends, for
// least-request balancing and the admin /clusters view. The host belongs to the
// snapshot the request holds, so it outlives the guard.
class ActiveRequest {
 public:
  ActiveRequest() = default;
  explicit ActiveRequest(lb::Host* host) : host_(host) {
    if (host_ != nullptr) {
      host_->requestStarted();
    }
  }
  ~ActiveRequest() { finish(); }
  ActiveRequest(const ActiveRequest&) = delete;
  ActiveRequest& operator=(const ActiveRequest&) = delete;
  ActiveRequest(ActiveRequest&& other) noexcept : host_(other.host_) { other.host_ = nullptr; }
  ActiveRequest& operator=(ActiveRequest&& other) noexcept {
    if (this != &other) {
      finish();
      host_ = other.host_;
      other.host_ = nullptr;
    }
    return *this;
  }

  const lb::Host* host() const { return host_; }

  void finish() {
    if (host_ != nullptr) {
      host_->requestFinished();
      host_ = nullptr;
    }
  }

 private:
  lb::Host* host_ = nullptr;
};

}  // namespace weft::proxy
