#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "proxy/upstream/lb/priority_set.h"

namespace weft::proxy::lb {

// Host counts of one priority level. Draining hosts count nowhere.
struct LevelHealth {
  uint32_t total = 0;  // healthy + degraded + unhealthy
  uint32_t healthy = 0;
  uint32_t degraded = 0;
};

// Where a pick goes: a level and which of its hosts.
struct LevelChoice {
  size_t level = 0;
  HostSource source = HostSource::kHealthy;
};

// The share of traffic, in percent, each priority level takes, with Envoy's semantics
// (https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/
// priority and .../panic_threshold):
//
//  - A level's availability is min(100, overprovisioning_factor x healthy / total), and the
//    same for its degraded hosts. Levels take load in priority order, healthy hosts first:
//    each gets min(what is left, availability x 100 / normalized total availability), where the
//    normalized total availability (NTA) is the sum over levels, capped at 100. With the
//    default factor 140 a level with at least 72% healthy hosts keeps all traffic; a level with
//    50% keeps 70% and the rest spills to the next level. Degraded hosts, of any level, take
//    only what healthy hosts of every level could not.
//  - Panic: when the levels together cannot carry the load (NTA < 100), a level whose healthy
//    plus degraded share is below healthy_panic_threshold ignores health and balances its load
//    over all its hosts (HostSource::kAll). When NTA is 0 (nothing healthy or degraded
//    anywhere) every level is in panic and load follows host counts. A threshold of 0 disables
//    panic: with nothing healthy, nothing is chosen.
//  - Integer percents, remainders of rounding go to the first level with load.
//
// compute() is O(levels) and allocates only the first time (for the number of levels).
class PriorityLoad {
 public:
  void compute(std::span<const LevelHealth> levels, uint32_t overprovisioning_factor,
               double panic_threshold);

  // The level for a value in [0, 100) drawn uniformly (or from a request's hash); nullopt when
  // no host can be chosen (no hosts, or none healthy with panic disabled).
  std::optional<LevelChoice> select(uint32_t percent) const;

  uint32_t healthyLoad(size_t level) const { return healthy_[level]; }
  uint32_t degradedLoad(size_t level) const { return degraded_[level]; }
  bool panic(size_t level) const { return panic_[level] != 0; }

 private:
  std::vector<uint32_t> healthy_;
  std::vector<uint32_t> degraded_;
  std::vector<uint8_t> panic_;
};

}  // namespace weft::proxy::lb
