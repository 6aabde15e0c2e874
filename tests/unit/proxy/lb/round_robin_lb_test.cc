#include "proxy/upstream/lb/round_robin_lb.h"

#include <gtest/gtest.h>

#include <set>

#include "tests/unit/proxy/lb/lb_test_util.h"

namespace weft::proxy::lb {
namespace {

using testutil::countPicks;
using testutil::endpoint;
using testutil::flatCluster;
using testutil::pickIndices;

size_t longestRun(const std::vector<int>& sequence, int value) {
  size_t longest = 0;
  size_t run = 0;
  for (int item : sequence) {
    run = item == value ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return longest;
}

TEST(RoundRobinLbTest, EqualWeightsRotateThroughEveryHost) {
  PrioritySet hosts(flatCluster(testutil::endpoints(0, 4)));
  RoundRobinLoadBalancer lb(hosts, {}, 1);
  const std::vector<int> picks = pickIndices(lb, 40);
  for (size_t i = 1; i < picks.size(); ++i) {
    EXPECT_EQ(picks[i], (picks[i - 1] + 1) % 4) << "pick " << i;
  }
}

TEST(RoundRobinLbTest, WeightedProportionsAreExactInEveryCycle) {
  PrioritySet hosts(flatCluster({endpoint(0, 5), endpoint(1, 3), endpoint(2, 1), endpoint(3, 1)}));
  RoundRobinLoadBalancer lb(hosts, {}, 42);
  const std::vector<int> picks = pickIndices(lb, 100);
  for (size_t cycle = 0; cycle < 10; ++cycle) {
    std::map<int, int> counts;
    for (size_t i = cycle * 10; i < cycle * 10 + 10; ++i) {
      ++counts[picks[i]];
    }
    EXPECT_EQ(counts, (std::map<int, int>{{0, 5}, {1, 3}, {2, 1}, {3, 1}})) << "cycle " << cycle;
  }
}

TEST(RoundRobinLbTest, WeightedPicksAreInterleaved) {
  for (uint64_t seed = 0; seed < 16; ++seed) {
    PrioritySet hosts(flatCluster({endpoint(0, 5), endpoint(1, 1), endpoint(2, 1)}));
    RoundRobinLoadBalancer lb(hosts, {}, seed);
    EXPECT_LE(longestRun(pickIndices(lb, 70), 0), 3u) << "seed " << seed;
  }
}

TEST(RoundRobinLbTest, WorkersStartAtDifferentHosts) {
  std::set<int> first_picks;
  for (uint64_t seed = 0; seed < 32; ++seed) {
    PrioritySet hosts(flatCluster(testutil::endpoints(0, 4)));
    RoundRobinLoadBalancer lb(hosts, {}, seed);
    first_picks.insert(pickIndices(lb, 1)[0]);
  }
  EXPECT_EQ(first_picks.size(), 4u);
}

TEST(RoundRobinLbTest, SkipsUnhealthyAndEjectedHosts) {
  PrioritySet hosts(flatCluster({endpoint(0), endpoint(1), endpoint(2, 1, EdsHealth::kUnhealthy),
                                 endpoint(3), endpoint(4), endpoint(5)}));
  hosts.setFlag(hosts.hosts()[1], HostFlag::kOutlierEjected, true);
  RoundRobinLoadBalancer lb(hosts, {}, 3);
  EXPECT_EQ(countPicks(lb, 40), (std::map<int, int>{{0, 10}, {3, 10}, {4, 10}, {5, 10}}));
}

TEST(RoundRobinLbTest, HealthChangesApplyAtTheNextPick) {
  PrioritySet hosts(flatCluster(testutil::endpoints(0, 4)));
  RoundRobinLoadBalancer lb(hosts, {}, 3);
  pickIndices(lb, 5);
  hosts.setFlag(hosts.hosts()[2], HostFlag::kFailedActiveHealthCheck, true);
  EXPECT_EQ(countPicks(lb, 30), (std::map<int, int>{{0, 10}, {1, 10}, {3, 10}}));
  hosts.setFlag(hosts.hosts()[2], HostFlag::kFailedActiveHealthCheck, false);
  EXPECT_EQ(countPicks(lb, 40), (std::map<int, int>{{0, 10}, {1, 10}, {2, 10}, {3, 10}}));
}

TEST(RoundRobinLbTest, AvoidsHostsAlreadyTried) {
  PrioritySet hosts(flatCluster({endpoint(0, 3), endpoint(1, 1), endpoint(2, 1)}));
  RoundRobinLoadBalancer lb(hosts, {}, 9);
  const std::vector<const Host*> tried = {&hosts.hosts()[0], &hosts.hosts()[1]};
  LbContext context;
  context.excluded = tried;
  for (int pick : pickIndices(lb, 20, context)) {
    EXPECT_EQ(pick, 2);
  }
}

TEST(RoundRobinLbTest, ReturnsATriedHostWhenEveryHostWasTried) {
  PrioritySet hosts(flatCluster(testutil::endpoints(0, 2)));
  RoundRobinLoadBalancer lb(hosts, {}, 9);
  const std::vector<const Host*> tried = {&hosts.hosts()[0], &hosts.hosts()[1]};
  LbContext context;
  context.excluded = tried;
  EXPECT_NE(lb.choose(context), nullptr);
}

TEST(RoundRobinLbTest, EmptyClusterChoosesNothing) {
  PrioritySet hosts(ClusterLbConfig{});
  RoundRobinLoadBalancer lb(hosts, {}, 1);
  EXPECT_EQ(lb.choose({}), nullptr);
}

TEST(RoundRobinLbTest, DrainingOnlyClusterChoosesNothing) {
  PrioritySet hosts(flatCluster({endpoint(0, 1, EdsHealth::kDraining)}));
  RoundRobinLoadBalancer lb(hosts, {}, 1);
  EXPECT_EQ(lb.choose({}), nullptr);
}

}  // namespace
}  // namespace weft::proxy::lb
