#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "proxy/upstream/lb/load_balancer_base.h"

namespace weft::proxy::lb {

// A Ketama-style consistent-hash ring over the members of one priority level, as Envoy builds
// it: each host gets entries xxHash64("<ip>:<port>_<i>") in proportion to its weight; the ring
// has between minimum and maximum size entries, scaled up so that the lightest host gets at
// least one whole share of minimum_size. A key belongs to the first entry at or after its hash
// (wrapping).
//
// Immutable and built over every member, whatever its health, so one ring serves all workers
// (shared_ptr<const>) and health changes never rebuild it. Build O(R log R) for R entries;
// memory 16 bytes per entry; find() O(log R).
class HashRing {
 public:
  struct Entry {
    uint64_t hash;
    uint32_t member;  // index into HostSet::members()
  };

  HashRing(std::span<Host* const> members, uint64_t minimum_size, uint64_t maximum_size);

  std::span<const Entry> entries() const { return entries_; }

  // Index of the entry owning `hash`; the ring must not be empty.
  size_t find(uint64_t hash) const;

 private:
  std::vector<Entry> entries_;
};

// RING_HASH: the request's hash picks the level (see LoadBalancerBase) and then walks the level's
// ring clockwise from the key to the first host the chosen source admits (and the context does
// not exclude). A host that becomes unhealthy therefore hands its keys to its ring successors
// and no other key moves; when it recovers, exactly those keys come back. Without a hash in the
// context, a random one is used.
//
// Cost per pick: O(log R) plus the walk past entries of unusable hosts, about
// (all members / usable members) entries on average.
class RingHashLoadBalancer : public LoadBalancerBase {
 public:
  // One ring per level of a PrioritySet; shareable by every PrioritySet built from the same
  // config.
  using Rings = std::vector<std::shared_ptr<const HashRing>>;
  static Rings buildRings(const PrioritySet& hosts, const LbPolicyConfig& config);

  // Builds its own rings.
  RingHashLoadBalancer(PrioritySet& hosts, const LbPolicyConfig& config, uint64_t seed);
  // Uses rings built by buildRings() over a PrioritySet of the same config.
  RingHashLoadBalancer(PrioritySet& hosts, const LbPolicyConfig& config, uint64_t seed,
                       Rings rings);

  const HashRing& ring(size_t level) const { return *rings_[level]; }

 protected:
  Host* chooseFrom(const Pick& pick, const LbContext& context) override;

 private:
  Rings rings_;
};

}  // namespace weft::proxy::lb
