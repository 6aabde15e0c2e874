#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <chrono>
#include <memory>

#include "controlplane/resources/resource_type.h"
#include "weft/v1/discovery.pb.h"

namespace weft::controlplane {

// The xDS server's metrics (docs/operations.md): connected proxies, pushes by type, push
// latency, NACKs by type and code, convergence (change to ACK).
class XdsMetrics {
 public:
  explicit XdsMetrics(prometheus::Registry& registry);

  void streamOpened() { connected_->Increment(); }
  void streamClosed() { connected_->Decrement(); }
  void pushed(ResourceType type) { pushes_[static_cast<size_t>(type)]->Increment(); }
  void nacked(ResourceType type, const weft::v1::ErrorDetail& error);
  // A response carrying a change made at `changed_at` was ACKed now.
  void converged(ResourceType type, std::chrono::steady_clock::time_point changed_at);
  // Time to compute and hand out one configuration generation to every stream.
  void pushRound(std::chrono::steady_clock::duration took);

 private:
  prometheus::Gauge* connected_;
  std::array<prometheus::Counter*, kResourceTypeCount> pushes_{};
  prometheus::Family<prometheus::Counter>* nacks_;
  std::array<prometheus::Histogram*, kResourceTypeCount> convergence_{};
  prometheus::Histogram* push_round_;
};

}  // namespace weft::controlplane
