#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace weft::proxy {

// A route's LocalRateLimit: a token bucket shared by every worker of the proxy.
//
// Lock-free: two words, the tokens and the time of the last refill, each
// updated with compare-and-swap. A request first adds the whole fill intervals that
// passed since the last refill (the thread that moves the refill time adds
// their tokens), then takes a token if one is left. Only routes with a limit
// pay for it; their requests share one cache line across workers, which is
// the price of an exact proxy-wide rate.
class LocalRateLimit {
 public:
  using Clock = std::chrono::steady_clock;

  LocalRateLimit(uint32_t max_tokens, uint32_t tokens_per_fill,
                 std::chrono::nanoseconds fill_interval, Clock::time_point now);

  // Takes a token; false when the bucket is empty.
  bool tryTake(Clock::time_point now);

  uint32_t maxTokens() const { return max_tokens_; }
  uint32_t tokensPerFill() const { return tokens_per_fill_; }
  std::chrono::nanoseconds fillInterval() const { return fill_interval_; }

  // The configured answer.
  unsigned status = 429;
  uint32_t enforced_share = 1'000'000;  // parts per million of empty-bucket requests refused

 private:
  void refill(Clock::time_point now);

  uint32_t max_tokens_;
  uint32_t tokens_per_fill_;
  std::chrono::nanoseconds fill_interval_;
  std::atomic<int64_t> tokens_;
  std::atomic<int64_t> last_fill_ns_;  // since `origin_`, a multiple of fill_interval_
  Clock::time_point origin_;
};

}  // namespace weft::proxy
