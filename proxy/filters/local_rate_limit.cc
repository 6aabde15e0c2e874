#include "proxy/filters/local_rate_limit.h"

#include <algorithm>

namespace weft::proxy {

LocalRateLimit::LocalRateLimit(uint32_t max_tokens, uint32_t tokens_per_fill,
                               std::chrono::nanoseconds fill_interval, Clock::time_point now)
    : max_tokens_(max_tokens),
      tokens_per_fill_(tokens_per_fill),
      fill_interval_(std::max(fill_interval, std::chrono::nanoseconds(1))),
      tokens_(max_tokens),
      last_fill_ns_(0),
      origin_(now) {}

void LocalRateLimit::refill(Clock::time_point now) {
  const int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now - origin_).count();
  const int64_t interval = fill_interval_.count();
  int64_t last = last_fill_ns_.load(std::memory_order_relaxed);
  for (;;) {
    const int64_t intervals = (now_ns - last) / interval;
    if (intervals <= 0) {
      return;
    }
    // Whoever moves the refill time adds the tokens of the intervals it moved past.
    if (last_fill_ns_.compare_exchange_weak(last, last + intervals * interval,
                                            std::memory_order_relaxed)) {
      const int64_t added =
          std::min<int64_t>(intervals, max_tokens_) * static_cast<int64_t>(tokens_per_fill_);
      int64_t tokens = tokens_.load(std::memory_order_relaxed);
      while (!tokens_.compare_exchange_weak(tokens, std::min<int64_t>(max_tokens_, tokens + added),
                                            std::memory_order_relaxed)) {
      }
      return;
    }
  }
}

bool LocalRateLimit::tryTake(Clock::time_point now) {
  refill(now);
  int64_t tokens = tokens_.load(std::memory_order_relaxed);
  while (tokens > 0) {
    if (tokens_.compare_exchange_weak(tokens, tokens - 1, std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

}  // namespace weft::proxy
