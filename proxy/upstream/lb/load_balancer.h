#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "proxy/upstream/lb/host.h"

namespace weft::proxy::lb {

// What the caller knows about the request that a load balancer may use.
struct LbContext {
  // Hash of the request's affinity key (hashKey() of a header, cookie or source IP, chosen by
  // the route's hash policy). Used by RING_HASH and MAGLEV, which pick a random host without
  // it; ignored by the other policies.
  std::optional<uint64_t> hash;

  // Hosts earlier attempts of this request already tried (retries). Avoided while the chosen
  // priority and locality have another candidate; when every candidate was tried, one of them is
  // returned anyway: a retry to a host that failed once beats failing the request outright.
  // Expected to be short (one entry per attempt); the caller owns the storage.
  std::span<const Host* const> excluded;

  bool excludes(const Host* host) const {
    return std::find(excluded.begin(), excluded.end(), host) != excluded.end();
  }
};

// Chooses the upstream host for each request (or retry attempt) of one cluster.
//
// One instance per worker per cluster, built from an immutable snapshot over that worker's
// PrioritySet (see LoadBalancerFactory); no locks, and choose() allocates nothing. Health changes
// flipped on the PrioritySet take effect at the next choose().
class LoadBalancer {
 public:
  virtual ~LoadBalancer() = default;

  // The host for the next request, or nullptr when no host can take traffic: the cluster has no
  // endpoints, or none is healthy and panic mode is disabled (a local reply 503
  // "no_healthy_upstream"). The pointer stays valid as long as the PrioritySet.
  virtual Host* choose(const LbContext& context) = 0;
};

using LoadBalancerPtr = std::unique_ptr<LoadBalancer>;

}  // namespace weft::proxy::lb
