#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "proxy/router/request_view.h"
#include "proxy/upstream/resilience/attempt_result.h"
#include "proxy/upstream/resilience/circuit_breaker.h"
#include "proxy/upstream/resilience/retry_budget.h"
#include "proxy/upstream/resilience/retry_policy.h"

namespace weft::proxy {

namespace lb {
class Host;
}

// Whether, and after what wait, a failed attempt is tried again.
struct RetryDecision {
  bool retry = false;
  std::chrono::milliseconds wait{0};
  // Without retry, why not, for the local reply and the log ("retry budget
  // exhausted"); empty when the failure was not one the policy retries.
  std::string_view refused;
};

// One request's retries under a route's policy: counts attempts, remembers the
// hosts tried (for avoid_previous_hosts) and decides after each failure, in
// this order: is it a retry condition, are retries left, may the body be sent
// again, does a reset header ask for a wait the policy accepts, does the
// deadline leave time, and does the cluster's budget admit one more. The budget
// is asked last so that only a retry that will really happen spends a token.
// Pure logic: the exchange does the I/O and the waiting.
class RetryState {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMaxRememberedHosts = 8;

  // `circuit` and `max_retries`: the cluster's circuit breaker on requests in
  // their retries (0: none); a request holds one place from its first retry
  // to its end.
  RetryState(const RetryPolicyConfig& policy, RetryBudget& budget, Clock::time_point deadline,
             const std::shared_ptr<ClusterCircuitCounts>* circuit = nullptr,
             uint32_t max_retries = 0)
      : policy_(policy),
        budget_(budget),
        deadline_(deadline),
        circuit_(circuit),
        max_retries_(max_retries) {}

  const RetryPolicyConfig& policy() const { return policy_; }
  uint32_t retries() const { return retries_; }
  uint32_t attempts() const { return retries_ + 1; }

  // `response`: the failed response's header fields (null when none came);
  // `replayable`: the request can be sent again (its body, if any, is kept
  // whole); `now_unix_seconds` for reset headers in HTTP-date or Unix time;
  // `random` for the backoff's jitter.
  RetryDecision afterFailure(const AttemptResult& result, const RequestView* response,
                             bool replayable, Clock::time_point now, int64_t now_unix_seconds,
                             uint64_t random);

  // afterFailure in two steps, for a caller that must find a host for the retry in between
  // (UpstreamRetry): check() asks everything but the budget and the circuit breaker, and
  // returns retry = true when those two are all that is left to ask; admit() asks them,
  // spending a token and counting the retry only when both allow it.
  RetryDecision check(const AttemptResult& result, const RequestView* response, bool replayable,
                      Clock::time_point now, int64_t now_unix_seconds, uint64_t random);
  void admit(RetryDecision& decision, Clock::time_point now);

  // A retry admitted was not sent after all (the client left during its backoff): its token
  // goes back to the budget.
  void retryNotSent() { budget_.refund(); }

  // The host an attempt went to, remembered so that the next pick avoids it.
  void tried(const lb::Host* host);
  std::span<const lb::Host* const> triedHosts() const {
    return policy_.avoid_previous_hosts
               ? std::span<const lb::Host* const>(tried_.data(), tried_count_)
               : std::span<const lb::Host* const>();
  }

 private:
  const RetryPolicyConfig& policy_;
  RetryBudget& budget_;
  Clock::time_point deadline_;
  uint32_t retries_ = 0;
  std::array<const lb::Host*, kMaxRememberedHosts> tried_{};
  size_t tried_count_ = 0;
  std::string scratch_;
  const std::shared_ptr<ClusterCircuitCounts>* circuit_;
  uint32_t max_retries_;
  CircuitSlot retry_slot_;
};

}  // namespace weft::proxy
