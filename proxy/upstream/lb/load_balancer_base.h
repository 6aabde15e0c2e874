#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "proxy/upstream/lb/edf_scheduler.h"
#include "proxy/upstream/lb/lb_config.h"
#include "proxy/upstream/lb/load_balancer.h"
#include "proxy/upstream/lb/priority_load.h"
#include "proxy/upstream/lb/priority_set.h"
#include "proxy/upstream/lb/random.h"

namespace weft::proxy::lb {

// What every policy shares: keeping up with health changes, choosing the priority level
// (spillover, degraded hosts, panic; see PriorityLoad) and, for locality-weighted clusters, the
// locality. The policy itself then picks a host from one HostList.
//
// Per pick: refresh check O(1); level choice O(levels); locality choice O(log localities);
// then the policy's own cost. After a health change the first pick also pays
// O(hosts + localities) to recompute lists, loads and locality schedulers (no allocation).
class LoadBalancerBase : public LoadBalancer {
 public:
  Host* choose(const LbContext& context) final;

 protected:
  // Which of the shared steps a policy wants.
  struct Traits {
    // Honour LbPolicyConfig::locality_weighted (hash policies must not: the hash alone decides).
    bool supports_locality_weighting = true;
    // Derive the level choice from LbContext::hash (so a key sticks to its level too).
    bool hash_based = false;
  };

  // What choose() has decided before the policy picks.
  struct Pick {
    const HostSet& level;
    const HostList& list;  // non-empty
    uint64_t hash;         // the request's hash or a random one; meaningful for hash policies
  };

  LoadBalancerBase(PrioritySet& hosts, const LbPolicyConfig& config, uint64_t seed, Traits traits);

  // The policy's choice from pick.list, avoiding context.excluded where the list allows (see
  // shouldAvoidExcluded()). Must return a host of pick.list.
  virtual Host* chooseFrom(const Pick& pick, const LbContext& context) = 0;

  // True when context excludes some but not all hosts of `list`: then a policy skips excluded
  // hosts, knowing that another one exists. O(excluded^2), tiny in practice.
  static bool shouldAvoidExcluded(const HostList& list, const LbContext& context);

  // The first host of `list` from `start` (wrapping) that context does not exclude, or
  // list[start] if all are. O(list) worst case: the fallback after bounded random attempts.
  static Host* firstAllowed(const HostList& list, const LbContext& context, size_t start);

  PrioritySet& prioritySet() { return hosts_; }
  const LbPolicyConfig& config() const { return config_; }
  Random& random() { return random_; }

 private:
  void refresh();
  const HostList& chooseLocality(const HostSet& level, size_t level_index, HostSource source);

  PrioritySet& hosts_;
  const LbPolicyConfig config_;
  const Traits traits_;
  Random random_;
  uint64_t seen_health_version_ = 0;
  std::vector<LevelHealth> level_health_;
  PriorityLoad load_;
  // Per level, for kHealthy and kDegraded: localities weighted by weight x availability.
  std::vector<EdfScheduler> locality_schedulers_;
};

}  // namespace weft::proxy::lb
