#include <random>

#include "proxy/snapshot/snapshot.h"

namespace weft::proxy {

WorkerClusterState& ClusterConfig::workerState(uint32_t worker_index) const {
  std::unique_ptr<WorkerClusterState>& slot = per_worker[worker_index];
  if (!slot) {
    // Made on first use: a proxy that knows 1,000 clusters but talks to a few
    // pays for the few. Seeds differ per worker so that round robin and random
    // picks of different workers do not move in lockstep.
    slot = std::make_unique<WorkerClusterState>();
    slot->hosts = lb_factory->createPrioritySet();
    std::random_device entropy;
    const uint64_t seed = (static_cast<uint64_t>(entropy()) << 32) ^ entropy() ^ worker_index;
    slot->balancer = lb_factory->create(*slot->hosts, seed);
  }
  return *slot;
}

}  // namespace weft::proxy
