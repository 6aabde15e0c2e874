#include "proxy/upstream/lb/least_request_lb.h"

namespace weft::proxy::lb {
namespace {

// True when `a` is less loaded than `b` relative to weight: a.active / a.weight <
// b.active / b.weight, compared exactly (active < 2^32, weight <= 10^6).
bool lessLoaded(const Host& a, const Host& b) {
  return uint64_t{a.activeRequests()} * b.weight() < uint64_t{b.activeRequests()} * a.weight();
}

}  // namespace

LeastRequestLoadBalancer::LeastRequestLoadBalancer(PrioritySet& hosts, const LbPolicyConfig& config,
                                                   uint64_t seed)
    : LoadBalancerBase(hosts, config, seed, Traits{}), samplers_(hosts.listCount()) {
  for (uint32_t id = 0; id < hosts.listCount(); ++id) {
    samplers_[id].sampler.reserve(hosts.list(id).capacity());
  }
}

Host* LeastRequestLoadBalancer::chooseFrom(const Pick& pick, const LbContext& context) {
  Sampler& state = samplers_[pick.list.id()];
  if (state.version != pick.list.version()) {
    state.version = pick.list.version();
    state.sampler.rebuild(pick.list.hosts());
  }
  const bool avoid = shouldAvoidExcluded(pick.list, context);
  Host* best = nullptr;
  // Two rounds of draws at most: a round where every draw hit an excluded host is unlucky, two
  // suggest most of the list is excluded, and a scan is cheaper than more luck.
  for (int round = 0; round < 2 && best == nullptr; ++round) {
    for (uint32_t draw = 0; draw < config().choice_count; ++draw) {
      Host* candidate = pick.list[state.sampler.sample(random().next())];
      if (avoid && context.excludes(candidate)) {
        continue;
      }
      if (best == nullptr || lessLoaded(*candidate, *best)) {
        best = candidate;
      }
    }
  }
  return best != nullptr ? best
                         : firstAllowed(pick.list, context, random().below(pick.list.size()));
}

}  // namespace weft::proxy::lb
