#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace weft {

struct BackoffOptions {
  std::chrono::milliseconds base{500};   // nominal delay before the first retry
  std::chrono::milliseconds max{30000};  // nominal delays stop growing here
  double multiplier = 2.0;               // growth of the nominal delay per attempt
};

// Delays between reconnect (or retry) attempts: exponential growth, capped, with jitter.
//
// The nominal delay for attempt n (0 after construction or reset()) is
//   d(n) = min(max, base * multiplier^n)
// and next() returns a delay drawn uniformly from [ceil(d/2), d] ("equal jitter").
//
// Why this scheme: when the control plane restarts, every proxy loses its stream at once. Without
// jitter they would all come back in lockstep on every attempt; spreading each delay over half its
// range breaks the lockstep after one round. Unlike "full jitter" ([0, d]) it never waits less
// than half the nominal delay, so a peer that is down is not hammered by near-zero retries, and
// unlike decorrelated jitter the bounds at attempt n are fixed, which makes the worst case easy
// to state (never more than max) and to test.
//
// Not thread-safe: one instance per connection or stream.
class ExponentialBackoff {
 public:
  // Returns numbers uniform over the whole uint64 range.
  using RandomSource = std::function<std::uint64_t()>;

  // Out-of-range options are corrected rather than rejected, so a bad setting cannot produce a
  // zero-delay loop: base is at least 1 ms, max at least base, multiplier at least 1 (NaN counts
  // as 1).
  explicit ExponentialBackoff(BackoffOptions options);             // seeded from std::random_device
  ExponentialBackoff(BackoffOptions options, std::uint64_t seed);  // deterministic (tests)
  ExponentialBackoff(BackoffOptions options, RandomSource random);

  // The delay to wait before the next attempt; advances the attempt count.
  std::chrono::milliseconds next();

  // Back to the base delay; call once a connection has proven healthy.
  void reset() { attempt_ = 0; }

  // Calls to next() since construction or reset() (saturates instead of wrapping).
  std::uint64_t attempt() const { return attempt_; }

  // d(attempt()): the upper bound of what next() returns now.
  std::chrono::milliseconds nominalDelay() const;

  const BackoffOptions& options() const { return options_; }

 private:
  BackoffOptions options_;
  RandomSource random_;
  std::uint64_t attempt_ = 0;
};

}  // namespace weft
