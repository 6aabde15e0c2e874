#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <vector>

#include "proxy/upstream/lb/load_balancer_base.h"

namespace weft::proxy::lb {

// A Maglev lookup table (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
// Balancer", NSDI 2016, section 3.4) over the members of one priority level, with Envoy's
// weighting.
//
// Each host derives a permutation of the M slots from its address: offset = xxHash64(key, 0)
// mod M, skip = xxHash64(key, 1) mod (M - 1) + 1, slot j = (offset + j * skip) mod M (M prime,
// so every permutation covers every slot). Hosts take turns claiming their next free slot until
// the table is full; a host of weight w takes a turn in w/max_weight of the rounds. Result:
// shares within one slot of exact for equal weights, and when a host leaves, the slots of the
// others mostly keep their owner (about 1/N of keys move, a little more than a ring's).
//
// Immutable and built over every member, whatever its health, so one table serves all workers
// and health changes never rebuild it. Build O(M log M) expected; 4 bytes per slot.
class MaglevTable {
 public:
  static constexpr uint32_t kNoMember = std::numeric_limits<uint32_t>::max();

  // table_size is rounded up to a prime (the API requires one; this keeps a bad value from
  // looping forever).
  MaglevTable(std::span<Host* const> members, uint64_t table_size);

  uint64_t size() const { return slots_.size(); }
  // Member index (into HostSet::members()) owning each slot; empty without members.
  std::span<const uint32_t> slots() const { return slots_; }
  uint64_t slotFor(uint64_t hash) const { return hash % slots_.size(); }

  static bool isPrime(uint64_t n);
  static uint64_t nextPrime(uint64_t n);  // smallest prime >= n

 private:
  std::vector<uint32_t> slots_;
};

// MAGLEV: the request's hash picks the level (see LoadBalancerBase) and a slot of the level's
// table; the slot's owner serves it if the chosen source admits it and the context does not
// exclude it, else the following slots are tried in order. Slot owners are spread
// pseudo-randomly, so an unhealthy host's keys fan out over all other hosts while no other key
// moves. Without a hash in the context, a random one is used.
//
// Cost per pick: O(1) plus the walk past slots of unusable hosts, about
// (all members / usable members) slots on average.
class MaglevLoadBalancer : public LoadBalancerBase {
 public:
  using Tables = std::vector<std::shared_ptr<const MaglevTable>>;  // one per level
  static Tables buildTables(const PrioritySet& hosts, const LbPolicyConfig& config);

  // Builds its own tables.
  MaglevLoadBalancer(PrioritySet& hosts, const LbPolicyConfig& config, uint64_t seed);
  // Uses tables built by buildTables() over a PrioritySet of the same config.
  MaglevLoadBalancer(PrioritySet& hosts, const LbPolicyConfig& config, uint64_t seed,
                     Tables tables);

  const MaglevTable& table(size_t level) const { return *tables_[level]; }

 protected:
  Host* chooseFrom(const Pick& pick, const LbContext& context) override;

 private:
  Tables tables_;
};

}  // namespace weft::proxy::lb
