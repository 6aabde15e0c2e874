#include "proxy/upstream/lb/random_lb.h"

namespace weft::proxy::lb {

RandomLoadBalancer::RandomLoadBalancer(PrioritySet& hosts, const LbPolicyConfig& config,
                                       uint64_t seed)
    : LoadBalancerBase(hosts, config, seed, Traits{}), samplers_(hosts.listCount()) {
  for (uint32_t id = 0; id < hosts.listCount(); ++id) {
    samplers_[id].sampler.reserve(hosts.list(id).capacity());
  }
}

Host* RandomLoadBalancer::chooseFrom(const Pick& pick, const LbContext& context) {
  Sampler& state = samplers_[pick.list.id()];
  if (state.version != pick.list.version()) {
    state.version = pick.list.version();
    state.sampler.rebuild(pick.list.hosts());
  }
  Host* host = pick.list[state.sampler.sample(random().next())];
  if (!shouldAvoidExcluded(pick.list, context)) {
    return host;
  }
  constexpr int kRedraws = 8;
  for (int redraw = 0; redraw < kRedraws && context.excludes(host); ++redraw) {
    host = pick.list[state.sampler.sample(random().next())];
  }
  return context.excludes(host) ? firstAllowed(pick.list, context, random().below(pick.list.size()))
                                : host;
}

}  // namespace weft::proxy::lb
