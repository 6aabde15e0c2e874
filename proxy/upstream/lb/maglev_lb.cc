#include "proxy/upstream/lb/maglev_lb.h"

#include <algorithm>

#include "proxy/upstream/lb/hash.h"

namespace weft::proxy::lb {

bool MaglevTable::isPrime(uint64_t n) {
  if (n < 2) {
    return false;
  }
  for (uint64_t divisor = 2; divisor * divisor <= n; ++divisor) {
    if (n % divisor == 0) {
      return false;
    }
  }
  return true;
}

uint64_t MaglevTable::nextPrime(uint64_t n) {
  while (!isPrime(n)) {
    ++n;
  }
  return n;
}

MaglevTable::MaglevTable(std::span<Host* const> members, uint64_t table_size) {
  if (members.empty()) {
    return;
  }
  const uint64_t size = nextPrime(std::max<uint64_t>(table_size, 3));

  struct Builder {
    uint64_t offset;
    uint64_t skip;
    uint64_t weight;
    uint64_t next = 0;    // position in this host's permutation
    uint64_t target = 0;  // weight-rounds owed before its next turn
  };
  std::vector<Builder> builders;
  builders.reserve(members.size());
  uint64_t max_weight = 0;
  for (const Host* host : members) {
    builders.push_back(Builder{xxHash64(host->hashKey(), 0) % size,
                               xxHash64(host->hashKey(), 1) % (size - 1) + 1, host->weight()});
    max_weight = std::max<uint64_t>(max_weight, host->weight());
  }

  slots_.assign(size, kNoMember);
  uint64_t filled = 0;
  for (uint64_t round = 1; filled < size; ++round) {
    for (size_t member = 0; member < builders.size() && filled < size; ++member) {
      Builder& builder = builders[member];
      // A host of max_weight takes a turn every round, one of max_weight / 3 every third.
      if (round * builder.weight < builder.target) {
        continue;
      }
      builder.target += max_weight;
      uint64_t slot = (builder.offset + builder.skip * builder.next) % size;
      while (slots_[slot] != kNoMember) {
        ++builder.next;
        slot = (builder.offset + builder.skip * builder.next) % size;
      }
      slots_[slot] = static_cast<uint32_t>(member);
      ++builder.next;
      ++filled;
    }
  }
}

MaglevLoadBalancer::Tables MaglevLoadBalancer::buildTables(const PrioritySet& hosts,
                                                           const LbPolicyConfig& config) {
  const LbPolicyConfig normalized = normalizePolicy(config);
  Tables tables;
  for (const HostSet& level : hosts.levels()) {
    tables.push_back(
        std::make_shared<const MaglevTable>(level.members(), normalized.maglev_table_size));
  }
  return tables;
}

MaglevLoadBalancer::MaglevLoadBalancer(PrioritySet& hosts, const LbPolicyConfig& config,
                                       uint64_t seed)
    : MaglevLoadBalancer(hosts, config, seed, buildTables(hosts, config)) {}

MaglevLoadBalancer::MaglevLoadBalancer(PrioritySet& hosts, const LbPolicyConfig& config,
                                       uint64_t seed, Tables tables)
    : LoadBalancerBase(hosts, config, seed, Traits{false, true}), tables_(std::move(tables)) {}

Host* MaglevLoadBalancer::chooseFrom(const Pick& pick, const LbContext& context) {
  const MaglevTable& table = *tables_[pick.list.level()];
  const std::span<const uint32_t> slots = table.slots();
  const bool avoid = shouldAvoidExcluded(pick.list, context);
  if (!slots.empty()) {
    const uint64_t start = table.slotFor(pick.hash);
    for (uint64_t i = 0; i < slots.size(); ++i) {
      const uint64_t slot = start + i < slots.size() ? start + i : start + i - slots.size();
      Host* host = pick.level.members()[slots[slot]];
      if (pick.list.contains(*host) && !(avoid && context.excludes(host))) {
        return host;
      }
    }
  }
  // Only when more hosts than slots left the usable hosts without a slot.
  return firstAllowed(pick.list, context, scaleToRange(pick.hash, pick.list.size()));
}

}  // namespace weft::proxy::lb
