#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/snapshot/snapshot.h"
#include "proxy/tls/upstream_tls.h"
#include "proxy/upstream/connection_limit.h"
#include "proxy/upstream/resilience/retry_state.h"
#include "proxy/upstream/upstream_pick.h"

namespace weft::proxy {

// Where one attempt of a request goes: the endpoint, how to reach it, and the
// worker's connection limit there (null when the cluster has none).
struct AttemptTarget {
  lb::Host* host = nullptr;  // the worker's view of it, for outlier detection
  boost::asio::ip::tcp::endpoint upstream;
  UpstreamTransport transport;
  std::shared_ptr<HostConnectionLimit> connection_limit;
};

// The target for `host` of `cluster` on worker `worker_index`.
AttemptTarget attemptTarget(const ClusterConfig& cluster, uint32_t worker_index, lb::Host& host);

// The request as it went upstream (head and framed body), kept so that a retry
// can send it again without the client. Only requests up to kLimit bytes are
// kept whole; a larger one is not retried once its body started. Owned by the
// downstream connection and cleared per request, so its memory is reused.
struct RequestReplay {
  static constexpr size_t kLimit = 64 * 1024;
  std::string bytes;
  bool overflow = false;  // the request outgrew kLimit: it cannot be sent again
  bool complete = false;  // the whole request is in `bytes`
  bool started = false;   // some of the request went upstream

  // Whether another attempt can send the request: it is kept whole, or none
  // of it left yet (a failed connect).
  bool replayable() const { return complete || !started; }

  void reset() {
    bytes.clear();
    overflow = false;
    complete = false;
    started = false;
  }
  void append(const char* data, size_t size) {
    if (overflow || bytes.size() + size > kLimit) {
      overflow = true;
      bytes.clear();
      return;
    }
    bytes.append(data, size);
  }
};

// One request's retries on its cluster: the retry state, the host of each
// attempt (the load balancer's pick, avoiding hosts already tried), the
// host's active-request count moved along, and the replay of the request.
class UpstreamRetry {
 public:
  using Clock = std::chrono::steady_clock;

  UpstreamRetry(const RetryPolicyConfig& policy, const ClusterConfig& cluster,
                uint32_t worker_index, lb::Host* first_host, std::optional<uint64_t> hash,
                ActiveRequest& active, RequestReplay& replay, Clock::time_point deadline);

  RetryState& state() { return state_; }
  const RetryState& state() const { return state_; }
  RequestReplay& replay() { return replay_; }
  const RetryPolicyConfig& policy() const { return state_.policy(); }

  // Whether the attempt that ended with `result` (`response`: its header, when one came) is
  // tried again, and after what wait. With retry = true, target() is where the next attempt
  // goes and the request counts against that host from now on. The host is chosen before the
  // budget is asked, so a retry with nowhere to go spends no token.
  RetryDecision decide(const AttemptResult& result, const RequestView* response,
                       Clock::time_point now);

  // The next attempt's target, after decide() said retry.
  const AttemptTarget& target() const { return target_; }

  // For a local reply after retries: " (3 attempts; not retried: the cluster's retry budget is
  // spent)"; empty when the request was tried once and no retry was refused.
  std::string note(std::string_view refused) const;

  // A uniform value for the backoff's jitter.
  static uint64_t random();

 private:
  const ClusterConfig& cluster_;
  uint32_t worker_index_;
  std::optional<uint64_t> hash_;
  ActiveRequest& active_;
  RequestReplay& replay_;
  RetryState state_;
  AttemptTarget target_;
};

}  // namespace weft::proxy
