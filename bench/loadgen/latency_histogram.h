#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace weft::loadgen {

// Latency histogram in microseconds with a fixed memory footprint: exact to the microsecond
// below 2,048 us, then 1,024 buckets per power of two (relative error under 0.1%), up to
// 2^40 us. All memory is allocated by the constructor, so record() never allocates and can sit
// on a measured path.
class LatencyHistogram {
 public:
  LatencyHistogram();

  void record(std::uint64_t micros);
  void reset();

  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return max_; }
  double mean() const;

  // The smallest value v such that at least `quantile` (0..1] of the recorded values are <= v.
  // Values above the exact range are reported as the upper edge of their bucket (never above
  // max()). 0 when nothing was recorded.
  std::uint64_t valueAtQuantile(double quantile) const;

  // Bucket arithmetic, exposed for tests.
  static std::size_t bucketIndex(std::uint64_t micros);
  static std::uint64_t bucketUpperValue(std::size_t index);

  static constexpr std::uint64_t kExactBelow = 2048;
  static constexpr std::uint64_t kLargest = (std::uint64_t{1} << 40) - 1;

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace weft::loadgen
