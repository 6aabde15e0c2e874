#pragma once

#include <vector>

#include "proxy/upstream/lb/load_balancer_base.h"
#include "proxy/upstream/lb/weighted_sampler.h"

namespace weft::proxy::lb {

// LEAST_REQUEST: draw choice_count hosts at random (weighted, with replacement) and take the one
// with the fewest active requests per unit of weight ("power of two choices" with the default
// of 2). Comparing active/weight (by cross-multiplication, no division) lets a host of weight 2
// carry twice the requests of a weight-1 host before it looks busier; idle hosts tie, and a tie
// goes to the first drawn, so at low load picks follow the weights exactly as RANDOM would.
//
// Two choices already avoid the herd behaviour of "always the least loaded" (every worker
// piling onto the same idle host) while catching almost all of its benefit (Mitzenmacher).
// Cost: O(choice_count) per pick with equal weights, O(choice_count log n) otherwise; excluded
// hosts are skipped among the draws, with one more round of draws and then a scan as fallback.
class LeastRequestLoadBalancer : public LoadBalancerBase {
 public:
  LeastRequestLoadBalancer(PrioritySet& hosts, const LbPolicyConfig& config, uint64_t seed);

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
