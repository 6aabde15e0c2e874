#include "proxy/upstream/lb/edf_scheduler.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

namespace weft::proxy::lb {
namespace {

std::vector<uint32_t> picks(EdfScheduler& scheduler, size_t count) {
  std::vector<uint32_t> result;
  for (size_t i = 0; i < count; ++i) {
    result.push_back(scheduler.pick());
  }
  return result;
}

size_t longestRun(const std::vector<uint32_t>& sequence, uint32_t item) {
  size_t longest = 0;
  size_t run = 0;
  for (uint32_t value : sequence) {
    run = value == item ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return longest;
}

TEST(EdfSchedulerTest, ExactProportionsInEveryCycleFromAnyPhase) {
  const std::vector<uint64_t> weights = {5, 3, 1, 1};
  for (uint32_t phase : {0u, 12345u, 0x80000000u, 0xFFFFFFFFu}) {
    EdfScheduler scheduler;
    scheduler.reset(phase);
    for (uint32_t i = 0; i < weights.size(); ++i) {
      scheduler.add(i, weights[i]);
    }
    for (int cycle = 0; cycle < 20; ++cycle) {
      std::map<uint32_t, uint64_t> counts;
      for (uint32_t item : picks(scheduler, 10)) {
        ++counts[item];
      }
      for (uint32_t i = 0; i < weights.size(); ++i) {
        EXPECT_EQ(counts[i], weights[i]) << "phase " << phase << " cycle " << cycle;
      }
    }
  }
}

TEST(EdfSchedulerTest, LargeWeightsStayExact) {
  EdfScheduler scheduler;
  scheduler.reset(0x12345678);
  scheduler.add(0, 700'000);
  scheduler.add(1, 299'999);
  scheduler.add(2, 1);
  std::map<uint32_t, int> counts;
  for (uint32_t item : picks(scheduler, 1'000'000)) {
    ++counts[item];
  }
  EXPECT_EQ(counts[0], 700'000);
  EXPECT_EQ(counts[1], 299'999);
  EXPECT_EQ(counts[2], 1);
}

TEST(EdfSchedulerTest, InterleavesHeavyAndLightItems) {
  EdfScheduler scheduler;
  scheduler.reset(0);
  scheduler.add(0, 5);
  scheduler.add(1, 1);
  scheduler.add(2, 1);
  // a: 0.2 0.4 0.6 0.8 1.0; b: 1 - 0.618 = 0.382; c: 1 - 0.236 = 0.764.
  EXPECT_EQ(picks(scheduler, 14), (std::vector<uint32_t>{0, 1, 0, 0, 2, 0, 0,  //
                                                         0, 1, 0, 0, 2, 0, 0}));
}

TEST(EdfSchedulerTest, LongestRunOfTheHeavyItemIsShortFromEveryPhase) {
  for (uint32_t phase = 0; phase < 64; ++phase) {
    EdfScheduler scheduler;
    scheduler.reset(phase * 0x04000000u);
    scheduler.add(0, 5);
    scheduler.add(1, 1);
    scheduler.add(2, 1);
    EXPECT_LE(longestRun(picks(scheduler, 70), 0), 3u) << "phase " << phase;
  }
}

TEST(EdfSchedulerTest, EqualWeightsRotateInAFixedOrder) {
  EdfScheduler scheduler;
  scheduler.reset(0);
  for (uint32_t i = 0; i < 3; ++i) {
    scheduler.add(i, 2);
  }
  const std::vector<uint32_t> sequence = picks(scheduler, 12);
  for (size_t i = 3; i < sequence.size(); ++i) {
    EXPECT_EQ(sequence[i], sequence[i - 3]);
  }
  EXPECT_NE(sequence[0], sequence[1]);
  EXPECT_NE(sequence[1], sequence[2]);
  EXPECT_NE(sequence[0], sequence[2]);
}

TEST(EdfSchedulerTest, PhaseMovesTheStartingPoint) {
  std::map<uint32_t, int> first_picks;
  for (uint32_t phase = 0; phase < 16; ++phase) {
    EdfScheduler scheduler;
    scheduler.reset(phase * 0x10000000u);
    scheduler.add(0, 3);
    scheduler.add(1, 2);
    scheduler.add(2, 1);
    ++first_picks[scheduler.pick()];
  }
  EXPECT_EQ(first_picks.size(), 3u);
}

TEST(EdfSchedulerTest, ZeroWeightIsNeverPicked) {
  EdfScheduler scheduler;
  scheduler.reset(0);
  scheduler.add(0, 0);
  scheduler.add(1, 3);
  EXPECT_EQ(scheduler.size(), 1u);
  for (uint32_t item : picks(scheduler, 10)) {
    EXPECT_EQ(item, 1u);
  }
}

TEST(EdfSchedulerTest, ResetEmpties) {
  EdfScheduler scheduler;
  scheduler.add(0, 1);
  EXPECT_FALSE(scheduler.empty());
  scheduler.reset(0);
  EXPECT_TRUE(scheduler.empty());
}

}  // namespace
}  // namespace weft::proxy::lb
