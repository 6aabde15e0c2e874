#include "proxy/filters/local_rate_limit.h"

#include <algorithm>
#include <array>
#include <functional>

namespace weft::proxy {

LocalRateLimit::LocalRateLimit(uint32_t max_tokens, uint32_t tokens_per_fill,
                               std::chrono::nanoseconds fill_interval, Clock::time_point now)
    : max_tokens_(max_tokens),
      tokens_per_fill_(tokens_per_fill),
      fill_interval_(std::max(fill_interval, std::chrono::nanoseconds(1))),
      tokens_(max_tokens),
      last_fill_ns_(0),
      origin_(now) {}

LocalRateLimit::~LocalRateLimit() = default;

void LocalRateLimit::bucketPerSource(Clock::time_point now) {
  per_source_ = std::make_unique<SourceBuckets>(*this, now);
}

LocalRateLimit& LocalRateLimit::bucketFor(std::string_view identity,
                                          const boost::asio::ip::address& address) {
  if (!per_source_) {
    return *this;
  }
  uint64_t key = 0;
  if (!identity.empty()) {
    key = std::hash<std::string_view>()(identity);
  } else if (address.is_v4()) {
    key = std::hash<uint64_t>()(address.to_v4().to_uint() | (uint64_t{4} << 32));
  } else {
    const std::array<unsigned char, 16> bytes = address.to_v6().to_bytes();
    key = std::hash<std::string_view>()(
        std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  }
  return per_source_->bucketFor(key);
}

SourceBuckets::SourceBuckets(const LocalRateLimit& settings, LocalRateLimit::Clock::time_point now)
    : keys_(std::make_unique<std::atomic<uint64_t>[]>(kSlots)),
      overflow_(settings.maxTokens(), settings.tokensPerFill(), settings.fillInterval(), now) {
  for (size_t i = 0; i < kSlots; ++i) {
    keys_[i].store(0, std::memory_order_relaxed);
    buckets_.emplace_back(settings.maxTokens(), settings.tokensPerFill(), settings.fillInterval(),
                          now);
  }
}

LocalRateLimit& SourceBuckets::bucketFor(uint64_t key_hash) {
  const uint64_t key = key_hash | 1;  // never 0, which marks a free slot
  for (size_t probe = 0; probe < kProbes; ++probe) {
    const size_t slot = (key + probe) % kSlots;
    uint64_t seen = keys_[slot].load(std::memory_order_acquire);
    if (seen == 0 && keys_[slot].compare_exchange_strong(seen, key, std::memory_order_acq_rel)) {
      return buckets_[slot];  // claimed: a fresh, full bucket
    }
    if (seen == key) {
      return buckets_[slot];
    }
  }
  return overflow_;
}

size_t SourceBuckets::claimed() const {
  size_t count = 0;
  for (size_t i = 0; i < kSlots; ++i) {
    count += keys_[i].load(std::memory_order_relaxed) != 0;
  }
  return count;
}

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
