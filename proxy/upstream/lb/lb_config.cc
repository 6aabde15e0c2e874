#include "proxy/upstream/lb/lb_config.h"

#include <algorithm>
#include <cmath>

namespace weft::proxy::lb {

const char* lbPolicyName(LbPolicy policy) {
  switch (policy) {
    case LbPolicy::kRoundRobin:
      return "ROUND_ROBIN";
    case LbPolicy::kLeastRequest:
      return "LEAST_REQUEST";
    case LbPolicy::kRandom:
      return "RANDOM";
    case LbPolicy::kRingHash:
      return "RING_HASH";
    case LbPolicy::kMaglev:
      return "MAGLEV";
  }
  return "UNKNOWN";
}

LbPolicyConfig normalizePolicy(LbPolicyConfig config) {
  config.choice_count = std::clamp<uint32_t>(config.choice_count, 2, 100);
  constexpr uint64_t kMaxRing = 8388608;
  config.minimum_ring_size = std::clamp<uint64_t>(config.minimum_ring_size, 1, kMaxRing);
  config.maximum_ring_size =
      std::clamp<uint64_t>(config.maximum_ring_size, config.minimum_ring_size, kMaxRing);
  config.maglev_table_size = std::clamp<uint64_t>(config.maglev_table_size, 3, 5000011);
  if (!std::isfinite(config.healthy_panic_threshold)) {
    config.healthy_panic_threshold = 50.0;
  }
  config.healthy_panic_threshold = std::clamp(config.healthy_panic_threshold, 0.0, 100.0);
  config.overprovisioning_factor = std::clamp<uint32_t>(config.overprovisioning_factor, 100, 1000);
  return config;
}

}  // namespace weft::proxy::lb
