#include "proxy/upstream/lb/priority_load.h"

#include <gtest/gtest.h>

#include <vector>

namespace weft::proxy::lb {
namespace {

struct Loads {
  std::vector<uint32_t> healthy;
  std::vector<uint32_t> degraded;
  std::vector<bool> panic;

  bool operator==(const Loads&) const = default;
};

void PrintTo(const Loads& loads, std::ostream* out) {
  auto print = [&](const char* name, const auto& values) {
    *out << name << "{";
    for (auto value : values) {
      *out << value << " ";
    }
    *out << "} ";
  };
  print("healthy", loads.healthy);
  print("degraded", loads.degraded);
  print("panic", loads.panic);
}

Loads compute(std::vector<LevelHealth> levels, uint32_t overprovisioning = 140,
              double panic_threshold = 50) {
  PriorityLoad load;
  load.compute(levels, overprovisioning, panic_threshold);
  Loads result;
  for (size_t i = 0; i < levels.size(); ++i) {
    result.healthy.push_back(load.healthyLoad(i));
    result.degraded.push_back(load.degradedLoad(i));
    result.panic.push_back(load.panic(i));
  }
  return result;
}

TEST(PriorityLoadTest, AllHealthyKeepsEverythingOnTheFirstLevel) {
  EXPECT_EQ(compute({{10, 10, 0}, {10, 10, 0}}), (Loads{{100, 0}, {0, 0}, {false, false}}));
}

TEST(PriorityLoadTest, SpillsOverByTheOverprovisioningFactor) {
  // 50% healthy x 1.4 = 70% stays, 30% spills to the next level.
  EXPECT_EQ(compute({{10, 5, 0}, {10, 10, 0}}), (Loads{{70, 30}, {0, 0}, {false, false}}));
  // With factor 100 the first unhealthy host already spills.
  EXPECT_EQ(compute({{10, 9, 0}, {10, 10, 0}}, 100), (Loads{{90, 10}, {0, 0}, {false, false}}));
}

TEST(PriorityLoadTest, SeventyTwoPercentHealthyKeepsAllTraffic) {
  EXPECT_EQ(compute({{100, 72, 0}, {10, 10, 0}}).healthy, (std::vector<uint32_t>{100, 0}));
  EXPECT_EQ(compute({{100, 71, 0}, {10, 10, 0}}).healthy, (std::vector<uint32_t>{99, 1}));
}

TEST(PriorityLoadTest, DegradedHostsTakeOnlyWhatHealthyHostsCannot) {
  // One level, half healthy, half degraded: healthy 70%, degraded the remaining 30%.
  EXPECT_EQ(compute({{10, 5, 5}}), (Loads{{70}, {30}, {false}}));
  // A healthy lower priority absorbs the rest before degraded hosts of the first level.
  EXPECT_EQ(compute({{10, 5, 5}, {10, 10, 0}}), (Loads{{70, 30}, {0, 0}, {false, false}}));
}

TEST(PriorityLoadTest, NoPanicWhileLowerLevelsCarryTheLoad) {
  // 40% healthy is below the threshold, but together the levels reach 100%.
  EXPECT_EQ(compute({{10, 4, 0}, {10, 10, 0}}), (Loads{{56, 44}, {0, 0}, {false, false}}));
}

TEST(PriorityLoadTest, PanicWhenTheLevelsCannotCarryTheLoad) {
  // One level, 40% healthy: all load stays, and the level balances over all its hosts.
  EXPECT_EQ(compute({{10, 4, 0}}), (Loads{{100}, {0}, {true}}));
  // 60% healthy: not enough to carry everything (84%), but above the threshold.
  EXPECT_EQ(compute({{10, 6, 0}}), (Loads{{100}, {0}, {false}}));
  // Degraded hosts count as usable for the threshold.
  EXPECT_EQ(compute({{10, 3, 3}}).panic, (std::vector<bool>{false}));
}

TEST(PriorityLoadTest, PanicIsDecidedPerLevel) {
  // Availability 28 + 70 = 98 < 100: the first level (20% healthy) panics while the second
  // (50%) does not.
  EXPECT_EQ(compute({{10, 2, 0}, {10, 5, 0}}), (Loads{{29, 71}, {0, 0}, {true, false}}));
  // Availability 28 + 42 = 70: loads 40/60, both below the threshold.
  EXPECT_EQ(compute({{10, 2, 0}, {10, 3, 0}}), (Loads{{40, 60}, {0, 0}, {true, true}}));
}

TEST(PriorityLoadTest, TotalPanicFollowsHostCounts) {
  EXPECT_EQ(compute({{4, 0, 0}, {6, 0, 0}}), (Loads{{40, 60}, {0, 0}, {true, true}}));
  // Rounding remainder to the first level with hosts.
  EXPECT_EQ(compute({{0, 0, 0}, {1, 0, 0}, {2, 0, 0}}).healthy, (std::vector<uint32_t>{0, 34, 66}));
}

TEST(PriorityLoadTest, RoundingRemainderGoesToTheFirstLevelWithLoad) {
  // Availability 46 + 20 = 66: 69.7% and 30.3% round down to 69 and 30; the lost 1% goes to the
  // first level.
  EXPECT_EQ(compute({{3, 1, 0}, {7, 1, 0}}).healthy, (std::vector<uint32_t>{70, 30}));
}

TEST(PriorityLoadTest, PanicDisabledWithNothingHealthySelectsNothing) {
  PriorityLoad load;
  const std::vector<LevelHealth> levels = {{4, 0, 0}};
  load.compute(levels, 140, 0);
  EXPECT_FALSE(load.select(0).has_value());
  EXPECT_FALSE(load.panic(0));
}

TEST(PriorityLoadTest, PanicDisabledKeepsHonouringHealth) {
  EXPECT_EQ(compute({{10, 1, 0}}, 140, 0), (Loads{{100}, {0}, {false}}));
}

TEST(PriorityLoadTest, NoHostsSelectsNothing) {
  PriorityLoad load;
  load.compute({}, 140, 50);
  EXPECT_FALSE(load.select(0).has_value());
  const std::vector<LevelHealth> empty_levels = {{0, 0, 0}, {0, 0, 0}};
  load.compute(empty_levels, 140, 50);
  EXPECT_FALSE(load.select(50).has_value());
}

TEST(PriorityLoadTest, SelectWalksHealthyThenDegradedLoads) {
  PriorityLoad load;
  // 5 healthy and 5 degraded of 10: healthy 70, degraded 30.
  const std::vector<LevelHealth> levels = {{10, 5, 5}};
  load.compute(levels, 140, 50);
  EXPECT_EQ(load.select(0)->source, HostSource::kHealthy);
  EXPECT_EQ(load.select(69)->source, HostSource::kHealthy);
  EXPECT_EQ(load.select(70)->source, HostSource::kDegraded);
  EXPECT_EQ(load.select(99)->source, HostSource::kDegraded);

  const std::vector<LevelHealth> two = {{10, 5, 0}, {10, 10, 0}};
  load.compute(two, 140, 50);
  EXPECT_EQ(load.select(69)->level, 0u);
  EXPECT_EQ(load.select(70)->level, 1u);

  const std::vector<LevelHealth> panicking = {{10, 1, 0}};
  load.compute(panicking, 140, 50);
  EXPECT_EQ(load.select(0)->source, HostSource::kAll);
}

}  // namespace
}  // namespace weft::proxy::lb
