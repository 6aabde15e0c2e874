#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "proxy/upstream/lb/lb_config.h"
#include "proxy/upstream/lb/load_balancer.h"
#include "proxy/upstream/lb/maglev_lb.h"
#include "proxy/upstream/lb/priority_set.h"
#include "proxy/upstream/lb/ring_hash_lb.h"

namespace weft::proxy::lb {

// Builds a cluster's load balancers from its config. Made once per snapshot and cluster (on the
// main thread) and shared, immutable, by all workers: the consistent-hash rings and Maglev tables
// depend only on the config, so they are built here once instead of once per worker. Each worker
// then makes its own PrioritySet and LoadBalancer, which it alone touches:
//
//   auto hosts = factory.createPrioritySet();
//   LoadBalancerPtr lb = factory.create(*hosts, seed);  // seed: per worker, e.g. random_device
//
// The PrioritySet must outlive the LoadBalancer. Thread-safe: all methods are const and the
// shared tables are never written after construction.
class LoadBalancerFactory {
 public:
  explicit LoadBalancerFactory(ClusterLbConfig config);

  const ClusterLbConfig& config() const { return config_; }

  std::unique_ptr<PrioritySet> createPrioritySet() const;

  // The balancer for `hosts`, which should come from createPrioritySet() (a set of a different
  // shape gets tables of its own). Allocates; not for the request path.
  LoadBalancerPtr create(PrioritySet& hosts, uint64_t seed) const;

 private:
  bool sameShape(const PrioritySet& hosts) const;

  ClusterLbConfig config_;
  std::vector<size_t> level_sizes_;  // members per level of createPrioritySet()'s sets
  RingHashLoadBalancer::Rings rings_;
  MaglevLoadBalancer::Tables maglev_tables_;
};

}  // namespace weft::proxy::lb
