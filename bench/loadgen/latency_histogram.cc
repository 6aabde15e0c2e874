#include "bench/loadgen/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace weft::loadgen {

namespace {

constexpr unsigned kPrecisionBits = 11;                        // 2,048 = kExactBelow
constexpr std::uint64_t kSubBuckets = std::uint64_t{1} << 10;  // per power of two above it

}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(bucketIndex(kLargest) + 1, 0) {}

std::size_t LatencyHistogram::bucketIndex(std::uint64_t micros) {
  micros = std::min(micros, kLargest);
  if (micros < kExactBelow) {
    return static_cast<std::size_t>(micros);
  }
  // Keep the top kPrecisionBits bits: the value lies in [1024 << shift, 2048 << shift).
  const unsigned shift = static_cast<unsigned>(std::bit_width(micros)) - kPrecisionBits;
  return static_cast<std::size_t>(kExactBelow + (shift - 1) * kSubBuckets +
                                  ((micros >> shift) - kSubBuckets));
}

std::uint64_t LatencyHistogram::bucketUpperValue(std::size_t index) {
  if (index < kExactBelow) {
    return index;
  }
  const std::uint64_t above = index - kExactBelow;
  const unsigned shift = static_cast<unsigned>(above / kSubBuckets) + 1;
  const std::uint64_t top = above % kSubBuckets + kSubBuckets;
  return ((top + 1) << shift) - 1;
}

void LatencyHistogram::record(std::uint64_t micros) {
  ++counts_[bucketIndex(micros)];
  ++count_;
  max_ = std::max(max_, micros);
  sum_ += static_cast<long double>(micros);
}

void LatencyHistogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  max_ = 0;
  sum_ = 0;
}

double LatencyHistogram::mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(count_));
}

std::uint64_t LatencyHistogram::valueAtQuantile(double quantile) const {
  if (count_ == 0) {
    return 0;
  }
  quantile = std::clamp(quantile, 0.0, 1.0);
  // The rank (1-based) of the value asked for; at least the first value.
  const auto rank = std::max<std::uint64_t>(
      1, static_cast<std::uint64_t>(std::ceil(quantile * static_cast<double>(count_) - 1e-9)));
  std::uint64_t seen = 0;
  for (std::size_t index = 0; index < counts_.size(); ++index) {
    seen += counts_[index];
    if (seen >= rank) {
      return std::min(bucketUpperValue(index), max_);
    }
  }
  return max_;
}

}  // namespace weft::loadgen
