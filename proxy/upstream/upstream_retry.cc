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

RetryDecision UpstreamRetry::decide(const AttemptResult& result, const RequestView* response,
                                    Clock::time_point now) {
  const int64_t now_unix = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  RetryDecision decision =
      state_.check(result, response, replay_.replayable(), now, now_unix, random());
  if (!decision.retry) {
    return decision;
  }
  lb::Host* host = chooseHost(cluster_, worker_index_, hash_, state_.triedHosts());
  if (host == nullptr) {
    decision.retry = false;
    decision.refused = "no host of the cluster can take the retry";
    return decision;
  }
  state_.admit(decision, now);
  if (decision.retry) {
    state_.tried(host);
    active_ = ActiveRequest(host);
    target_ = attemptTarget(cluster_, worker_index_, *host);
  }
  return decision;
}

std::string UpstreamRetry::note(std::string_view refused) const {
  if (state_.retries() == 0 && refused.empty()) {
    return {};
  }
  const uint32_t attempts = state_.attempts();
  std::string text = " (" + std::to_string(attempts) + (attempts == 1 ? " attempt" : " attempts");
  if (!refused.empty()) {
    text.append("; not retried: ").append(refused);
  }
  return text + ")";
}

uint64_t UpstreamRetry::random() {
  thread_local lb::Random generator(std::random_device{}());
  return generator.next();
}

}  // namespace weft::proxy
