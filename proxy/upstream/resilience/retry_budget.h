#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace weft::proxy {

// A cluster's retry budget as configured (RetryBudget): retries may add
// `percent` % of the requests plus `min_per_second` per second.
struct RetryBudgetConfig {
  double percent = 20;
  double min_per_second = 10;

  bool operator==(const RetryBudgetConfig&) const = default;
};

// One worker's share of a cluster's retry budget: a token bucket. Every
// request to the cluster deposits percent/100 of a token, time adds
// min_per_second / workers tokens a second, and each retry takes a whole one.
// Over any stretch of time the retries of all workers together therefore stay
// within percent % of the requests plus min_per_second per second, plus what
// the bucket held at the start.
//
// The bucket starts with one second of the time allowance, so the first
// failures after a start are retried too, and holds at most ten seconds of it
// (and at least 100 / workers tokens): a healthy period lets a short burst of
// failures be retried, but never banks an allowance for a storm.
//
// Per worker, not shared: the request path touches no atomic. Retries one
// worker cannot afford are not borrowed from another; with connections spread
// evenly (SO_REUSEPORT) the shares are spent evenly too. Not thread-safe.
class RetryBudget {
 public:
  using Clock = std::chrono::steady_clock;

  RetryBudget(const RetryBudgetConfig& config, uint32_t workers, Clock::time_point now);

  // Continues from `previous`, the same cluster's budget on this worker in the config this one
  // replaces: a config update neither refills a spent budget nor empties a full one.
  void adopt(const RetryBudget& previous) {
    balance_ = std::min(capacity_, previous.balance_);
    last_refill_ = previous.last_refill_;
  }

  // A request (not a retry) was sent to the cluster.
  void deposit() { balance_ = std::min(capacity_, balance_ + per_request_); }

  // Takes the token for one retry; false when the budget is spent.
  bool withdraw(Clock::time_point now);
  // Gives back a token withdrawn for a retry that did not happen.
  void refund() { balance_ = std::min(capacity_, balance_ + kToken); }

  double balance() const { return static_cast<double>(balance_) / kToken; }
  double capacity() const { return static_cast<double>(capacity_) / kToken; }

 private:
  // Whole numbers of millionths of a token: a thousand deposits of 20 % make
  // exactly 200 tokens, where doubles would fall a hair short.
  static constexpr int64_t kToken = 1'000'000;

  void refill(Clock::time_point now);

  int64_t per_request_;
  double per_second_;  // tokens
  int64_t capacity_;
  int64_t balance_;
  Clock::time_point last_refill_;
};

}  // namespace weft::proxy
