#include "proxy/upstream/lb/ring_hash_lb.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "proxy/upstream/lb/hash.h"

namespace weft::proxy::lb {

HashRing::HashRing(std::span<Host* const> members, uint64_t minimum_size, uint64_t maximum_size) {
  if (members.empty()) {
    return;
  }
  uint64_t total_weight = 0;
  uint64_t min_weight = members.front()->weight();
  for (const Host* host : members) {
    total_weight += host->weight();
    min_weight = std::min<uint64_t>(min_weight, host->weight());
  }
  // Envoy's sizing: scale so that the lightest host gets a whole number of entries of at least
  // its share of minimum_size, capped by maximum_size. Running sums (current/target) hand out
  // fractional shares without drift.
  const double min_share = static_cast<double>(min_weight) / static_cast<double>(total_weight);
  const double scale =
      std::min(std::ceil(min_share * static_cast<double>(minimum_size)) / min_share,
               static_cast<double>(maximum_size));
  entries_.reserve(static_cast<size_t>(std::ceil(scale)));

  double current = 0;
  double target = 0;
  std::string key;
  for (size_t member = 0; member < members.size(); ++member) {
    const Host& host = *members[member];
    target += scale * host.weight() / static_cast<double>(total_weight);
    key = host.hashKey();
    key += '_';
    const size_t prefix = key.size();
    for (uint64_t i = 0; current < target; ++i, ++current) {
      key.resize(prefix);
      key += std::to_string(i);
      entries_.push_back(Entry{xxHash64(key), static_cast<uint32_t>(member)});
    }
  }
  std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.member < b.member;
  });
}

size_t HashRing::find(uint64_t hash) const {
  const auto it = std::lower_bound(entries_.begin(), entries_.end(), hash,
                                   [](const Entry& entry, uint64_t h) { return entry.hash < h; });
  return it == entries_.end() ? 0 : static_cast<size_t>(it - entries_.begin());
}

RingHashLoadBalancer::Rings RingHashLoadBalancer::buildRings(const PrioritySet& hosts,
                                                             const LbPolicyConfig& config) {
  const LbPolicyConfig normalized = normalizePolicy(config);
  Rings rings;
  for (const HostSet& level : hosts.levels()) {
    rings.push_back(std::make_shared<const HashRing>(level.members(), normalized.minimum_ring_size,
                                                     normalized.maximum_ring_size));
  }
  return rings;
}

RingHashLoadBalancer::RingHashLoadBalancer(PrioritySet& hosts, const LbPolicyConfig& config,
                                           uint64_t seed)
    : RingHashLoadBalancer(hosts, config, seed, buildRings(hosts, config)) {}

RingHashLoadBalancer::RingHashLoadBalancer(PrioritySet& hosts, const LbPolicyConfig& config,
                                           uint64_t seed, Rings rings)
    : LoadBalancerBase(hosts, config, seed, Traits{false, true}), rings_(std::move(rings)) {}

Host* RingHashLoadBalancer::chooseFrom(const Pick& pick, const LbContext& context) {
  const std::span<const HashRing::Entry> entries = rings_[pick.list.level()]->entries();
  const bool avoid = shouldAvoidExcluded(pick.list, context);
  if (!entries.empty()) {
    const size_t start = rings_[pick.list.level()]->find(pick.hash);
    for (size_t i = 0; i < entries.size(); ++i) {
      const size_t index = start + i < entries.size() ? start + i : start + i - entries.size();
      Host* host = pick.level.members()[entries[index].member];
      if (pick.list.contains(*host) && !(avoid && context.excludes(host))) {
        return host;
      }
    }
  }
  // Only when a maximum_ring_size below the host count left the usable hosts without entries.
  return firstAllowed(pick.list, context, scaleToRange(pick.hash, pick.list.size()));
}

}  // namespace weft::proxy::lb
