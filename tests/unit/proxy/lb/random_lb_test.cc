#include "proxy/upstream/lb/random_lb.h"

#include <gtest/gtest.h>

#include "tests/unit/proxy/lb/lb_test_util.h"

namespace weft::proxy::lb {
namespace {

using testutil::countPicks;
using testutil::endpoint;
using testutil::flatCluster;
using testutil::pickIndices;

LbPolicyConfig randomPolicy() {
  LbPolicyConfig config;
  config.policy = LbPolicy::kRandom;
  return config;
}

TEST(RandomLbTest, WeightedPicksAreWithinTolerance) {
  PrioritySet hosts(flatCluster({endpoint(0, 1), endpoint(1, 2), endpoint(2, 7)}));
  RandomLoadBalancer lb(hosts, randomPolicy(), 2024);
  const std::map<int, int> counts = countPicks(lb, 100000);
  // Standard deviations are about 95, 126 and 145 picks; 5 of them is a wide margin that a
  // fixed seed makes irrelevant anyway.
  EXPECT_NEAR(counts.at(0), 10000, 500);
  EXPECT_NEAR(counts.at(1), 20000, 650);
  EXPECT_NEAR(counts.at(2), 70000, 750);
}

TEST(RandomLbTest, EqualWeightsAreUniform) {
  PrioritySet hosts(flatCluster(testutil::endpoints(0, 5)));
  RandomLoadBalancer lb(hosts, randomPolicy(), 7);
  for (const auto& [index, count] : countPicks(lb, 50000)) {
    EXPECT_NEAR(count, 10000, 450) << "host " << index;
  }
}

TEST(RandomLbTest, SameSeedSamePicks) {
  PrioritySet first_hosts(flatCluster(testutil::endpoints(0, 10)));
  PrioritySet second_hosts(flatCluster(testutil::endpoints(0, 10)));
  RandomLoadBalancer first(first_hosts, randomPolicy(), 5);
  RandomLoadBalancer second(second_hosts, randomPolicy(), 5);
  RandomLoadBalancer other(second_hosts, randomPolicy(), 6);
  const std::vector<int> picks = pickIndices(first, 100);
  EXPECT_EQ(picks, pickIndices(second, 100));
  EXPECT_NE(picks, pickIndices(other, 100));
}

TEST(RandomLbTest, SkipsUnhealthyHosts) {
  PrioritySet hosts(
      flatCluster({endpoint(0), endpoint(1, 1, EdsHealth::kUnhealthy), endpoint(2), endpoint(3)}));
  RandomLoadBalancer lb(hosts, randomPolicy(), 1);
  const std::map<int, int> counts = countPicks(lb, 3000);
  EXPECT_EQ(counts.count(1), 0u);
  EXPECT_EQ(counts.size(), 3u);
}

TEST(RandomLbTest, AvoidsHostsAlreadyTried) {
  PrioritySet hosts(flatCluster({endpoint(0, 100), endpoint(1, 1)}));
  RandomLoadBalancer lb(hosts, randomPolicy(), 1);
  const std::vector<const Host*> tried = {&hosts.hosts()[0]};
  LbContext context;
  context.excluded = tried;
  // Redraws would rarely find the weight-1 host; the fallback scan does.
  EXPECT_EQ(countPicks(lb, 100, context), (std::map<int, int>{{1, 100}}));
}

}  // namespace
}  // namespace weft::proxy::lb
