#include "common/backoff/exponential_backoff.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace weft {

namespace {

BackoffOptions normalize(BackoffOptions options) {
  using std::chrono::milliseconds;
  options.base = std::max(options.base, milliseconds(1));
  options.max = std::max(options.max, options.base);
  if (!(options.multiplier >= 1.0)) {  // also catches NaN
    options.multiplier = 1.0;
  }
  return options;
}

ExponentialBackoff::RandomSource seededSource(std::uint64_t seed) {
  return [engine = std::mt19937_64(seed)]() mutable { return engine(); };
}

std::uint64_t randomSeed() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

}  // namespace

ExponentialBackoff::ExponentialBackoff(BackoffOptions options)
    : ExponentialBackoff(options, randomSeed()) {}

ExponentialBackoff::ExponentialBackoff(BackoffOptions options, std::uint64_t seed)
    : ExponentialBackoff(options, seededSource(seed)) {}

ExponentialBackoff::ExponentialBackoff(BackoffOptions options, RandomSource random)
    : options_(normalize(options)), random_(std::move(random)) {
  if (!random_) {
    random_ = seededSource(randomSeed());
  }
}

std::chrono::milliseconds ExponentialBackoff::nominalDelay() const {
  // In floating point, where growth past any bound ends at infinity instead of wrapping; the
  // comparison then keeps the conversion back to an integer in range (any double below
  // max <= INT64_MAX fits in int64).
  const double max = static_cast<double>(options_.max.count());
  const double nominal = static_cast<double>(options_.base.count()) *
                         std::pow(options_.multiplier, static_cast<double>(attempt_));
  if (!(nominal < max)) {
    return options_.max;
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(nominal));
}

std::chrono::milliseconds ExponentialBackoff::next() {
  const std::int64_t high = nominalDelay().count();  // >= 1
  const std::int64_t low = high - high / 2;          // ceil(high / 2)
  const auto span = static_cast<std::uint64_t>(high - low) + 1;
  // Scale a full-range random number onto [0, span): the top 64 bits of the 128-bit product.
  // Monotonic in the random number (0 gives low, the maximum gives high), so tests can pin the
  // bounds, and its bias is at most span / 2^64, negligible for millisecond delays.
  __extension__ typedef unsigned __int128 Uint128;
  const auto offset = static_cast<std::uint64_t>((static_cast<Uint128>(random_()) * span) >> 64);
  if (attempt_ < std::numeric_limits<std::uint64_t>::max()) {
    ++attempt_;
  }
  return std::chrono::milliseconds(low + static_cast<std::int64_t>(offset));
}

}  // namespace weft
