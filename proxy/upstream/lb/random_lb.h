#pragma once

#include <vector>

#include "proxy/upstream/lb/load_balancer_base.h"
#include "proxy/upstream/lb/weighted_sampler.h"

namespace weft::proxy::lb {

// RANDOM: a host drawn with probability proportional to its weight from the worker's seeded
// PRNG. Stateless between picks, so it needs no coordination and has no pathological
// sequences; its spread is statistical (about sqrt(n) off after n picks) where ROUND_ROBIN's is
// exact. O(1) per pick with equal weights, O(log n) otherwise; excluded hosts are redrawn up to
// a few times, then the first allowed host after a random position is taken.
class RandomLoadBalancer : public LoadBalancerBase {
 public:
  RandomLoadBalancer(PrioritySet& hosts, const LbPolicyConfig& config, uint64_t seed);

 protected:
  Host* chooseFrom(const Pick& pick, const LbContext& context) override;

 private:
  struct Sampler {
    uint64_t version = 0;
    WeightedSampler sampler;
  };

  std::vector<Sampler> samplers_;  // by HostList::id()
};

}  // namespace weft::proxy::lb
