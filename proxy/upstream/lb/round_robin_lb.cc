#include "proxy/upstream/lb/round_robin_lb.h"

#include <algorithm>

namespace weft::proxy::lb {

RoundRobinLoadBalancer::RoundRobinLoadBalancer(PrioritySet& hosts, const LbPolicyConfig& config,
                                               uint64_t seed)
    : LoadBalancerBase(hosts, config, seed, Traits{}), rotations_(hosts.listCount()) {
  for (uint32_t id = 0; id < hosts.listCount(); ++id) {
    rotations_[id].scheduler.reserve(hosts.list(id).capacity());
  }
}

Host* RoundRobinLoadBalancer::next(Rotation& rotation, const HostList& list) {
  if (rotation.version != list.version()) {
    rotation.version = list.version();
    const std::span<Host* const> hosts = list.hosts();
    rotation.equal_weights = std::all_of(hosts.begin(), hosts.end(), [&](const Host* host) {
      return host->weight() == hosts.front()->weight();
    });
    rotation.scheduler.reset(static_cast<uint32_t>(random().next() >> 32));
    if (rotation.equal_weights) {
      rotation.next = random().below(list.size());
    } else {
      for (size_t i = 0; i < hosts.size(); ++i) {
        rotation.scheduler.add(static_cast<uint32_t>(i), hosts[i]->weight());
      }
    }
  }
  if (rotation.equal_weights) {
    Host* host = list[rotation.next];
    rotation.next = rotation.next + 1 == list.size() ? 0 : rotation.next + 1;
    return host;
  }
  return list[rotation.scheduler.pick()];
}

Host* RoundRobinLoadBalancer::chooseFrom(const Pick& pick, const LbContext& context) {
  Rotation& rotation = rotations_[pick.list.id()];
  Host* host = next(rotation, pick.list);
  if (!shouldAvoidExcluded(pick.list, context)) {
    return host;
  }
  for (size_t turn = 1; turn < pick.list.size() && context.excludes(host); ++turn) {
    host = next(rotation, pick.list);
  }
  return context.excludes(host) ? firstAllowed(pick.list, context, 0) : host;
}

}  // namespace weft::proxy::lb
