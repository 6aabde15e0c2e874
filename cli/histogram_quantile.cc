#include "cli/histogram_quantile.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace weft::cli {

double histogramQuantile(double q, std::vector<HistogramBucket> buckets) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (std::isnan(q)) {
    return kNaN;
  }
  if (q < 0) {
    return -kInf;
  }
  if (q > 1) {
    return kInf;
  }
  // Untrusted input: a NaN bound cannot be ordered (PromQL assumes there is none) and a NaN
  // count cannot be searched, so neither reaches the sort or the search below.
  std::erase_if(buckets,
                [](const HistogramBucket& bucket) { return std::isnan(bucket.upper_bound); });
  if (buckets.empty()) {
    return kNaN;
  }
  if (std::any_of(buckets.begin(), buckets.end(),
                  [](const HistogramBucket& bucket) { return std::isnan(bucket.count); })) {
    return kNaN;
  }
  std::stable_sort(buckets.begin(), buckets.end(),
                   [](const HistogramBucket& a, const HistogramBucket& b) {
                     return a.upper_bound < b.upper_bound;
                   });
  if (buckets.back().upper_bound != kInf) {
    return kNaN;
  }
  // Buckets of the same bound (from several series) count together.
  size_t kept = 0;
  for (size_t i = 1; i < buckets.size(); ++i) {
    if (buckets[i].upper_bound == buckets[kept].upper_bound) {
      buckets[kept].count += buckets[i].count;
    } else {
      buckets[++kept] = buckets[i];
    }
  }
  buckets.resize(kept + 1);
  // Cumulative counts never fall; where summed or extrapolated rates make them, take the
  // envelope.
  double highest = buckets.front().count;
  for (auto& bucket : buckets) {
    highest = std::max(highest, bucket.count);
    bucket.count = highest;
  }
  if (buckets.size() < 2) {
    return kNaN;
  }
  const double observations = buckets.back().count;
  if (observations == 0) {
    return kNaN;
  }
  double rank = q * observations;
  // The first bucket (the +Inf one excluded) whose count reaches the rank.
  const auto found =
      std::lower_bound(buckets.begin(), buckets.end() - 1, rank,
                       [](const HistogramBucket& bucket, double r) { return bucket.count < r; });
  const size_t b = static_cast<size_t>(found - buckets.begin());
  if (b == buckets.size() - 1) {
    return buckets[buckets.size() - 2].upper_bound;
  }
  if (b == 0 && buckets[0].upper_bound <= 0) {
    return buckets[0].upper_bound;
  }
  double bucket_start = 0;
  const double bucket_end = buckets[b].upper_bound;
  double count = buckets[b].count;
  if (b > 0) {
    bucket_start = buckets[b - 1].upper_bound;
    count -= buckets[b - 1].count;
    rank -= buckets[b - 1].count;
  }
  return bucket_start + (bucket_end - bucket_start) * (rank / count);
}

}  // namespace weft::cli
