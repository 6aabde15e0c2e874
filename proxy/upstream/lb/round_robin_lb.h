#pragma once

#include <cstddef>
#include <vector>

#include "proxy/upstream/lb/edf_scheduler.h"
#include "proxy/upstream/lb/load_balancer_base.h"

namespace weft::proxy::lb {

// ROUND_ROBIN: hosts take turns in exact proportion to their weights, interleaved.
//
// Each host list (a level or locality, healthy or degraded or all) has its own rotation,
// rebuilt only when that list changes. Equal weights: a plain rotation, O(1) per pick. Unequal
// weights: an EdfScheduler, O(log n) per pick, exact over every cycle of sum-of-weights picks.
// Each rotation starts at a random point, so workers (and proxies) do not all begin with the
// same host. A host excluded by the context loses its turn; after list-size turns the first
// allowed host in list order is taken (only reachable with very unequal weights).
class RoundRobinLoadBalancer : public LoadBalancerBase {
 public:
  RoundRobinLoadBalancer(PrioritySet& hosts, const LbPolicyConfig& config, uint64_t seed);

 protected:
  Host* chooseFrom(const Pick& pick, const LbContext& context) override;

 private:
  struct Rotation {
    uint64_t version = 0;  // of the list this was built for
    bool equal_weights = true;
    size_t next = 0;  // equal weights: index of the next host
    EdfScheduler scheduler;
  };

  Host* next(Rotation& rotation, const HostList& list);

  std::vector<Rotation> rotations_;  // by HostList::id()
};

}  // namespace weft::proxy::lb
