#include <gtest/gtest.h>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <vector>

#include "common/backoff/exponential_backoff.h"

namespace weft {
namespace {

using std::chrono::milliseconds;

// Nominal delay computed independently of the implementation, for small attempt counts.
std::int64_t expectedNominal(std::int64_t base, std::int64_t max, double multiplier, int attempt) {
  const double nominal = static_cast<double>(base) * std::pow(multiplier, attempt);
  return nominal >= static_cast<double>(max) ? max : static_cast<std::int64_t>(nominal);
}

void expectWithinBounds(milliseconds delay, std::int64_t nominal) {
  EXPECT_GE(delay.count(), nominal - nominal / 2) << "nominal " << nominal;
  EXPECT_LE(delay.count(), nominal) << "nominal " << nominal;
}

TEST(ExponentialBackoffTest, DelaysStayWithinBoundsAtEachAttempt) {
  ExponentialBackoff backoff({.base = milliseconds(100), .max = milliseconds(10000)}, 1);
  for (int attempt = 0; attempt < 20; ++attempt) {
    const std::int64_t nominal = expectedNominal(100, 10000, 2.0, attempt);
    EXPECT_EQ(backoff.nominalDelay().count(), nominal) << "attempt " << attempt;
    expectWithinBounds(backoff.next(), nominal);
  }
  EXPECT_EQ(backoff.attempt(), 20u);
}

TEST(ExponentialBackoffTest, NonIntegerMultiplier) {
  ExponentialBackoff backoff(
      {.base = milliseconds(250), .max = milliseconds(60000), .multiplier = 1.5}, 2);
  for (int attempt = 0; attempt < 30; ++attempt) {
    expectWithinBounds(backoff.next(), expectedNominal(250, 60000, 1.5, attempt));
  }
}

TEST(ExponentialBackoffTest, CapsAtMax) {
  ExponentialBackoff backoff({.base = milliseconds(100), .max = milliseconds(1000)}, 3);
  for (int i = 0; i < 10; ++i) {
    backoff.next();
  }
  // 100 * 2^10 is far past the cap: every delay is now within [max/2, max].
  std::int64_t lowest = std::numeric_limits<std::int64_t>::max();
  std::int64_t highest = 0;
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(backoff.nominalDelay(), milliseconds(1000));
    const auto delay = backoff.next().count();
    expectWithinBounds(milliseconds(delay), 1000);
    lowest = std::min(lowest, delay);
    highest = std::max(highest, delay);
  }
  // Jitter really spreads the delays over the range rather than collapsing to one value.
  EXPECT_LT(lowest, 550);
  EXPECT_GT(highest, 950);
}

TEST(ExponentialBackoffTest, ResetReturnsToBaseRange) {
  ExponentialBackoff backoff({.base = milliseconds(100), .max = milliseconds(5000)}, 4);
  for (int i = 0; i < 12; ++i) {
    backoff.next();
  }
  EXPECT_EQ(backoff.nominalDelay(), milliseconds(5000));
  backoff.reset();
  EXPECT_EQ(backoff.attempt(), 0u);
  EXPECT_EQ(backoff.nominalDelay(), milliseconds(100));
  expectWithinBounds(backoff.next(), 100);
  expectWithinBounds(backoff.next(), 200);
}

TEST(ExponentialBackoffTest, SameSeedGivesSameSequence) {
  const BackoffOptions options{.base = milliseconds(10), .max = milliseconds(100000)};
  ExponentialBackoff first(options, 42);
  ExponentialBackoff second(options, 42);
  ExponentialBackoff other(options, 43);
  std::vector<milliseconds> a, b, c;
  for (int i = 0; i < 20; ++i) {
    a.push_back(first.next());
    b.push_back(second.next());
    c.push_back(other.next());
  }
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(ExponentialBackoffTest, RandomSourceExtremesHitTheBounds) {
  const BackoffOptions options{.base = milliseconds(101), .max = milliseconds(100000)};
  ExponentialBackoff lowest(options, [] { return std::uint64_t{0}; });
  ExponentialBackoff highest(options, [] { return std::numeric_limits<std::uint64_t>::max(); });
  // ceil(101 / 2) = 51: at least half, never rounded below it.
  EXPECT_EQ(lowest.next(), milliseconds(51));
  EXPECT_EQ(highest.next(), milliseconds(101));
  EXPECT_EQ(lowest.next(), milliseconds(101));
  EXPECT_EQ(highest.next(), milliseconds(202));
}

TEST(ExponentialBackoffTest, HugeAttemptCountsDoNotOverflow) {
  ExponentialBackoff backoff({.base = milliseconds(1),
                              .max = milliseconds(std::numeric_limits<std::int64_t>::max()),
                              .multiplier = 10.0},
                             5);
  for (int i = 0; i < 100000; ++i) {
    const auto delay = backoff.next();
    ASSERT_GE(delay.count(), 1) << "attempt " << i;
    ASSERT_LE(delay, backoff.options().max) << "attempt " << i;
  }
  EXPECT_EQ(backoff.nominalDelay(), backoff.options().max);
  EXPECT_EQ(backoff.attempt(), 100000u);
}

TEST(ExponentialBackoffTest, SmallIntervalsStayInBounds) {
  ExponentialBackoff backoff({.base = milliseconds(1), .max = milliseconds(8)}, 6);
  for (int i = 0; i < 200; ++i) {
    expectWithinBounds(backoff.next(),
                       std::min<std::int64_t>(8, std::int64_t{1} << std::min(i, 10)));
  }
}

TEST(ExponentialBackoffTest, OutOfRangeOptionsAreCorrected) {
  ExponentialBackoff zero_base({.base = milliseconds(0), .max = milliseconds(0)}, 7);
  EXPECT_EQ(zero_base.options().base, milliseconds(1));
  EXPECT_EQ(zero_base.options().max, milliseconds(1));
  EXPECT_EQ(zero_base.next(), milliseconds(1));

  ExponentialBackoff negative({.base = milliseconds(-5), .max = milliseconds(-1)}, 7);
  EXPECT_EQ(negative.next(), milliseconds(1));

  ExponentialBackoff max_below_base({.base = milliseconds(200), .max = milliseconds(10)}, 7);
  EXPECT_EQ(max_below_base.options().max, milliseconds(200));
  expectWithinBounds(max_below_base.next(), 200);

  ExponentialBackoff shrinking(
      {.base = milliseconds(100), .max = milliseconds(1000), .multiplier = 0.5}, 7);
  ExponentialBackoff not_a_number(
      {.base = milliseconds(100), .max = milliseconds(1000), .multiplier = std::nan("")}, 7);
  for (int i = 0; i < 5; ++i) {
    expectWithinBounds(shrinking.next(), 100);
    expectWithinBounds(not_a_number.next(), 100);
  }
}

TEST(ExponentialBackoffTest, NullRandomSourceFallsBackToSeeded) {
  ExponentialBackoff backoff({.base = milliseconds(100), .max = milliseconds(1000)},
                             ExponentialBackoff::RandomSource{});
  expectWithinBounds(backoff.next(), 100);
}

TEST(ExponentialBackoffTest, DefaultSeededInstanceStaysInBounds) {
  ExponentialBackoff backoff(BackoffOptions{});
  for (int attempt = 0; attempt < 10; ++attempt) {
    expectWithinBounds(backoff.next(), expectedNominal(500, 30000, 2.0, attempt));
  }
}

}  // namespace
}  // namespace weft
