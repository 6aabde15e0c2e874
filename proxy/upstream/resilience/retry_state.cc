#include "proxy/upstream/resilience/retry_state.h"

#include <algorithm>

#include "proxy/stats/security_counters.h"
#include "proxy/stats/traffic_counters.h"
#include "proxy/upstream/resilience/retry_backoff.h"

namespace weft::proxy {

RetryDecision RetryState::afterFailure(const AttemptResult& result, const RequestView* response,
                                       bool replayable, Clock::time_point now,
                                       int64_t now_unix_seconds, uint64_t random) {
  RetryDecision decision = check(result, response, replayable, now, now_unix_seconds, random);
  if (decision.retry) {
    admit(decision, now);
  }
  return decision;
}

RetryDecision RetryState::check(const AttemptResult& result, const RequestView* response,
                                bool replayable, Clock::time_point now, int64_t now_unix_seconds,
                                uint64_t random) {
  RetryDecision decision;
  if (!policy_.retriable(result, response, scratch_)) {
    return decision;
  }
  if (retries_ >= policy_.num_retries) {
    decision.refused = "no retries left";
    return decision;
  }
  if (!replayable) {
    decision.refused = "the request body was too large to keep for a retry";
    return decision;
  }
  decision.wait = retryBackoff(retries_ + 1, policy_.backoff_base, policy_.backoff_max, random);
  if (response != nullptr) {
    for (const ResetHeaderConfig& header : policy_.reset_headers) {
      std::string_view value;
      if (!response->headers->find(header.name, scratch_, value)) {
        continue;
      }
      const auto wait = resetHeaderWait(value, header.unix_timestamp, now_unix_seconds);
      if (!wait) {
        continue;
      }
      if (*wait > policy_.max_reset_interval) {
        decision.refused = "the upstream asked for a wait longer than max_reset_interval";
        return decision;
      }
      decision.wait = *wait;
      break;
    }
  }
  if (now + decision.wait >= deadline_) {
    decision.refused = "the route timeout leaves no time for a retry";
    return decision;
  }
  decision.retry = true;
  return decision;
}

void RetryState::admit(RetryDecision& decision, Clock::time_point now) {
  decision.retry = false;
  if (!budget_.withdraw(now)) {
    count(trafficCounters().retries_budget_refused);
    decision.refused = "the cluster's retry budget is spent";
    return;
  }
  if (max_retries_ != 0 && circuit_ != nullptr && !retry_slot_.held() &&
      !retry_slot_.tryTake(*circuit_, &ClusterCircuitCounts::active_retries, max_retries_)) {
    budget_.refund();  // the token was not used
    decision.refused =
        "the cluster's circuit breaker allows no more retries in flight (max_retries)";
    return;
  }
  count(trafficCounters().retries);
  ++retries_;
  decision.retry = true;
}

void RetryState::tried(const lb::Host* host) {
  if (tried_count_ < tried_.size()) {
    tried_[tried_count_++] = host;
  } else {
    // Past eight hosts, forget the oldest: the newest failures matter most.
    std::rotate(tried_.begin(), tried_.begin() + 1, tried_.end());
    tried_.back() = host;
  }
}

}  // namespace weft::proxy
