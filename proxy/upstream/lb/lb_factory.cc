#include "proxy/upstream/lb/lb_factory.h"

#include "proxy/upstream/lb/least_request_lb.h"
#include "proxy/upstream/lb/random_lb.h"
#include "proxy/upstream/lb/round_robin_lb.h"

namespace weft::proxy::lb {

LoadBalancerFactory::LoadBalancerFactory(ClusterLbConfig config) : config_(std::move(config)) {
  config_.policy = normalizePolicy(config_.policy);
  const PrioritySet shape(config_);
  for (const HostSet& level : shape.levels()) {
    level_sizes_.push_back(level.members().size());
  }
  if (config_.policy.policy == LbPolicy::kRingHash) {
    rings_ = RingHashLoadBalancer::buildRings(shape, config_.policy);
  } else if (config_.policy.policy == LbPolicy::kMaglev) {
    maglev_tables_ = MaglevLoadBalancer::buildTables(shape, config_.policy);
  }
}

std::unique_ptr<PrioritySet> LoadBalancerFactory::createPrioritySet() const {
  return std::make_unique<PrioritySet>(config_);
}

bool LoadBalancerFactory::sameShape(const PrioritySet& hosts) const {
  if (hosts.levels().size() != level_sizes_.size()) {
    return false;
  }
  for (size_t i = 0; i < level_sizes_.size(); ++i) {
    if (hosts.levels()[i].members().size() != level_sizes_[i]) {
      return false;
    }
  }
  return true;
}

LoadBalancerPtr LoadBalancerFactory::create(PrioritySet& hosts, uint64_t seed) const {
  const LbPolicyConfig& policy = config_.policy;
  switch (policy.policy) {
    case LbPolicy::kRoundRobin:
      return std::make_unique<RoundRobinLoadBalancer>(hosts, policy, seed);
    case LbPolicy::kLeastRequest:
      return std::make_unique<LeastRequestLoadBalancer>(hosts, policy, seed);
    case LbPolicy::kRandom:
      return std::make_unique<RandomLoadBalancer>(hosts, policy, seed);
    case LbPolicy::kRingHash:
      if (!sameShape(hosts)) {
        return std::make_unique<RingHashLoadBalancer>(hosts, policy, seed);
      }
      return std::make_unique<RingHashLoadBalancer>(hosts, policy, seed, rings_);
    case LbPolicy::kMaglev:
      if (!sameShape(hosts)) {
        return std::make_unique<MaglevLoadBalancer>(hosts, policy, seed);
      }
      return std::make_unique<MaglevLoadBalancer>(hosts, policy, seed, maglev_tables_);
  }
  return std::make_unique<RoundRobinLoadBalancer>(hosts, policy, seed);
}

}  // namespace weft::proxy::lb
