#include "proxy/upstream/upstream_retry.h"

#include <random>

#include "proxy/upstream/lb/random.h"

namespace weft::proxy {

AttemptTarget attemptTarget(const ClusterConfig& cluster, uint32_t worker_index, lb::Host& host) {
  AttemptTarget target;
  target.host = &host;
  target.upstream = host.address();
  target.transport = cluster.transportFor(host);
  if (cluster.max_connections_per_host != 0) {
    target.connection_limit = cluster.connectionLimit(worker_index, host.index());
  }
  return target;
}

UpstreamRetry::UpstreamRetry(const RetryPolicyConfig& policy, const ClusterConfig& cluster,
                             uint32_t worker_index, lb::Host* first_host,
                             std::optional<uint64_t> hash, ActiveRequest& active,
                             RequestReplay& replay, Clock::time_point deadline)
    : cluster_(cluster),
      worker_index_(worker_index),
      hash_(hash),
      active_(active),
      replay_(replay),
      state_(policy, *cluster.workerState(worker_index).retry_budget, deadline, &cluster.circuit,
             cluster.circuit_limits.max_retries) {
  replay_.reset();
  state_.tried(first_host);
}

const AttemptTarget* UpstreamRetry::nextTarget() {
  lb::Host* host = chooseHost(cluster_, worker_index_, hash_, state_.triedHosts());
  if (host == nullptr) {
    return nullptr;
  }
  state_.tried(host);
  active_ = ActiveRequest(host);
  target_ = attemptTarget(cluster_, worker_index_, *host);
  return &target_;
}

uint64_t UpstreamRetry::random() {
  thread_local lb::Random generator(std::random_device{}());
  return generator.next();
}

}  // namespace weft::proxy
