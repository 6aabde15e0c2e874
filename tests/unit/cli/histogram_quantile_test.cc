#include "cli/histogram_quantile.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace weft::cli {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The expected values are what Prometheus 2.42's histogram_quantile() answers for the same
// buckets (checked with `promtool test rules` on the same series).
const std::vector<HistogramBucket> kHistogram = {{0.1, 10}, {0.5, 30}, {1, 40}, {kInf, 40}};

TEST(HistogramQuantileTest, InterpolatesLinearlyWithinTheBucket) {
  EXPECT_DOUBLE_EQ(histogramQuantile(0.5, kHistogram), 0.3);    // 10 of 20 in (0.1, 0.5]
  EXPECT_DOUBLE_EQ(histogramQuantile(0.99, kHistogram), 0.98);  // 9.6 of 10 in (0.5, 1]
  EXPECT_DOUBLE_EQ(histogramQuantile(1, kHistogram), 1);
}

TEST(HistogramQuantileTest, TheLowestBucketStartsAtZero) {
  EXPECT_DOUBLE_EQ(histogramQuantile(0.25, kHistogram), 0.1);
  EXPECT_DOUBLE_EQ(histogramQuantile(0.125, kHistogram), 0.05);
}

TEST(HistogramQuantileTest, ALowestBoundAtOrBelowZeroIsTheAnswerItself) {
  EXPECT_EQ(histogramQuantile(0.25, {{-1, 2}, {1, 4}, {kInf, 4}}), -1);
}

TEST(HistogramQuantileTest, InTheInfBucketTheAnswerIsTheHighestFiniteBound) {
  EXPECT_EQ(histogramQuantile(0.9, {{0.1, 5}, {0.5, 5}, {kInf, 10}}), 0.5);
  EXPECT_EQ(histogramQuantile(0.5, {{0.1, 0}, {0.5, 0}, {kInf, 10}}), 0.5);
}

TEST(HistogramQuantileTest, EmptyBucketsAreSkipped) {
  const std::vector<HistogramBucket> histogram = {{0.1, 0}, {0.25, 0}, {0.5, 4}, {1, 4}, {kInf, 4}};
  EXPECT_DOUBLE_EQ(histogramQuantile(0.5, histogram), 0.375);
  EXPECT_DOUBLE_EQ(histogramQuantile(0.99, histogram), 0.4975);
}

TEST(HistogramQuantileTest, SortsAndAddsUpBucketsOfTheSameBound) {
  // Two series' buckets, in no order: as `sum by (le)` hands them over.
  EXPECT_DOUBLE_EQ(
      histogramQuantile(0.375, {{kInf, 4}, {0.5, 2}, {0.1, 1}, {0.5, 2}, {0.1, 1}, {kInf, 4}}),
      0.3);
}

TEST(HistogramQuantileTest, FallingCountsAreRaisedToTheEnvelope) {
  const std::vector<HistogramBucket> histogram = {{0.1, 5}, {0.5, 3}, {1, 8}, {kInf, 8}};
  EXPECT_DOUBLE_EQ(histogramQuantile(0.5, histogram), 0.08);
  EXPECT_DOUBLE_EQ(histogramQuantile(0.75, histogram), 0.5 + 0.5 / 3);
}

TEST(HistogramQuantileTest, UnanswerableCasesAreNaN) {
  EXPECT_TRUE(std::isnan(histogramQuantile(0.5, {})));
  EXPECT_TRUE(std::isnan(histogramQuantile(0.5, {{0.1, 0}, {kInf, 0}})));   // no observations
  EXPECT_TRUE(std::isnan(histogramQuantile(0.5, {{0.1, 1}, {0.5, 2}})));    // no +Inf bucket
  EXPECT_TRUE(std::isnan(histogramQuantile(0.5, {{kInf, 5}})));             // one bucket
  EXPECT_TRUE(std::isnan(histogramQuantile(0.5, {{kInf, 5}, {kInf, 5}})));  // one, coalesced
  EXPECT_TRUE(std::isnan(histogramQuantile(kNaN, kHistogram)));
  EXPECT_TRUE(std::isnan(histogramQuantile(0.5, {{0.1, kNaN}, {kInf, 4}})));
}

TEST(HistogramQuantileTest, QuantilesOutsideZeroToOneAreInfinite) {
  EXPECT_EQ(histogramQuantile(-0.5, kHistogram), -kInf);
  EXPECT_EQ(histogramQuantile(1.5, kHistogram), kInf);
}

TEST(HistogramQuantileTest, IgnoresBucketsWithoutAnOrderableBound) {
  EXPECT_DOUBLE_EQ(histogramQuantile(0.5, {{kNaN, 3}, {0.1, 2}, {kInf, 2}, {kNaN, 1}}), 0.05);
}

}  // namespace
}  // namespace weft::cli
