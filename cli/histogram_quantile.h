#pragma once

#include <vector>

namespace weft::cli {

// One bucket of a classic Prometheus histogram: the observations at or below `upper_bound`
// (the `le` label), cumulative, over some window.
struct HistogramBucket {
  double upper_bound = 0;
  double count = 0;
};

// The q-quantile of the observations, estimated exactly as PromQL's histogram_quantile() does
// (Prometheus 2.42, classic histograms), so that `weftctl stat` and a dashboard agree:
//   - buckets are sorted by bound, buckets of the same bound added up, and counts that fall
//     from one bucket to the next raised to the highest count so far;
//   - the quantile is interpolated linearly within the bucket where it falls, from the bound
//     below (0 for the lowest bucket, if its bound is above 0);
//   - in the +Inf bucket, the answer is the highest finite bound;
//   - buckets with a NaN bound are ignored, and any NaN count makes the answer NaN;
//   - NaN without a +Inf bucket, with fewer than two buckets or without observations; -Inf
//     for q < 0, +Inf for q > 1.
double histogramQuantile(double q, std::vector<HistogramBucket> buckets);

}  // namespace weft::cli
