#pragma once

#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string_view>

namespace weft::proxy {

// A route's LocalRateLimit: a token bucket shared by every worker of the proxy.
//
// Lock-free: two words, the tokens and the time of the last refill, each
// updated with compare-and-swap. A request first adds the whole fill intervals that
// passed since the last refill (the thread that moves the refill time adds
// their tokens), then takes a token if one is left. Only routes with a limit
// pay for it; their requests share one cache line across workers, which is
// the price of an exact proxy-wide rate.
class SourceBuckets;

class LocalRateLimit {
 public:
  using Clock = std::chrono::steady_clock;

  LocalRateLimit(uint32_t max_tokens, uint32_t tokens_per_fill,
                 std::chrono::nanoseconds fill_interval, Clock::time_point now);
  ~LocalRateLimit();
  LocalRateLimit(const LocalRateLimit&) = delete;
  LocalRateLimit& operator=(const LocalRateLimit&) = delete;

  // The bucket a request takes its token from: this one, or with per_source its client's
  // (`identity`, the mesh peer's SPIFFE id, when not empty; else `address`).
  LocalRateLimit& bucketFor(std::string_view identity, const boost::asio::ip::address& address);
  // Gives every client its own bucket (LocalRateLimit.per_source).
  void bucketPerSource(Clock::time_point now);
  bool perSource() const { return per_source_ != nullptr; }

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
  std::unique_ptr<SourceBuckets> per_source_;
};

// Per-client buckets of one route: an open-addressing table of kSlots entries keyed by a 64-bit
// hash of the client, claimed with compare-and-swap, so finding a client's bucket takes no lock.
// A client whose kProbes slots are all taken by others shares the overflow bucket: memory stays
// fixed (about 64 KiB a route) however many clients come, at the price of those past kSlots
// sharing one limit.
class SourceBuckets {
 public:
  static constexpr size_t kSlots = 1024;
  static constexpr size_t kProbes = 8;

  SourceBuckets(const LocalRateLimit& settings, LocalRateLimit::Clock::time_point now);

  LocalRateLimit& bucketFor(uint64_t key_hash);
  // Clients that have a bucket of their own.
  size_t claimed() const;

 private:
  std::unique_ptr<std::atomic<uint64_t>[]> keys_;  // 0: free
  std::deque<LocalRateLimit> buckets_;
  LocalRateLimit overflow_;
};

}  // namespace weft::proxy
