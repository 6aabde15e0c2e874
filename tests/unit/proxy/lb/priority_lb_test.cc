// Priority levels, degraded hosts, panic mode and locality weighting, as every policy gets them
// from LoadBalancerBase (exercised here through ROUND_ROBIN, RANDOM and MAGLEV).
#include <gtest/gtest.h>

#include "proxy/upstream/lb/hash.h"
#include "proxy/upstream/lb/maglev_lb.h"
#include "proxy/upstream/lb/random_lb.h"
#include "proxy/upstream/lb/round_robin_lb.h"
#include "tests/unit/proxy/lb/lb_test_util.h"

namespace weft::proxy::lb {
namespace {

using testutil::countPicks;
using testutil::endpoint;
using testutil::locality;

// `count` endpoints from `first`, the first `unhealthy` of them EDS-unhealthy.
std::vector<EndpointConfig> endpointsWithUnhealthy(uint32_t first, uint32_t count,
                                                   uint32_t unhealthy,
                                                   EdsHealth health = EdsHealth::kUnhealthy) {
  std::vector<EndpointConfig> result;
  for (uint32_t i = 0; i < count; ++i) {
    result.push_back(endpoint(first + i, 1, i < unhealthy ? health : EdsHealth::kHealthy));
  }
  return result;
}

// Picks whose host index is in [first, last).
int picksIn(const std::map<int, int>& counts, int first, int last) {
  int total = 0;
  for (const auto& [index, count] : counts) {
    total += index >= first && index < last ? count : 0;
  }
  return total;
}

TEST(PriorityLbTest, TrafficStaysOnTheFirstPriorityWhileItIsHealthy) {
  ClusterLbConfig config;
  config.localities.push_back(locality(0, testutil::endpoints(0, 5)));
  config.localities.push_back(locality(1, testutil::endpoints(5, 5)));
  PrioritySet hosts(config);
  RoundRobinLoadBalancer lb(hosts, config.policy, 1);
  EXPECT_EQ(picksIn(countPicks(lb, 1000), 0, 5), 1000);
}

TEST(PriorityLbTest, SpillsToTheNextPriorityByTheOverprovisioningFactor) {
  ClusterLbConfig config;
  config.localities.push_back(locality(0, endpointsWithUnhealthy(0, 10, 5)));
  config.localities.push_back(locality(1, testutil::endpoints(10, 10)));
  PrioritySet hosts(config);
  RoundRobinLoadBalancer lb(hosts, config.policy, 1);
  const std::map<int, int> counts = countPicks(lb, 10000);
  EXPECT_EQ(picksIn(counts, 0, 5), 0);  // unhealthy
  EXPECT_NEAR(picksIn(counts, 5, 10), 7000, 200);
  EXPECT_NEAR(picksIn(counts, 10, 20), 3000, 200);
}

TEST(PriorityLbTest, HealthFlipsMoveTrafficBetweenPriorities) {
  ClusterLbConfig config;
  config.localities.push_back(locality(0, testutil::endpoints(0, 2)));
  config.localities.push_back(locality(1, testutil::endpoints(2, 2)));
  PrioritySet hosts(config);
  RoundRobinLoadBalancer lb(hosts, config.policy, 1);
  EXPECT_EQ(picksIn(countPicks(lb, 100), 0, 2), 100);
  hosts.setFlag(hosts.hosts()[0], HostFlag::kOutlierEjected, true);
  hosts.setFlag(hosts.hosts()[1], HostFlag::kOutlierEjected, true);
  EXPECT_EQ(picksIn(countPicks(lb, 100), 2, 4), 100);
  hosts.setFlag(hosts.hosts()[1], HostFlag::kOutlierEjected, false);
  // One of two healthy: 70% stays.
  EXPECT_NEAR(countPicks(lb, 1000)[1], 700, 60);
}

TEST(PriorityLbTest, PanicBalancesOverEveryHostOfTheLevel) {
  PrioritySet hosts(testutil::flatCluster(endpointsWithUnhealthy(0, 4, 3)));
  RoundRobinLoadBalancer lb(hosts, {}, 1);
  // 25% healthy is below the default 50%: health is ignored.
  EXPECT_EQ(countPicks(lb, 40), (std::map<int, int>{{0, 10}, {1, 10}, {2, 10}, {3, 10}}));
}

TEST(PriorityLbTest, AboveThePanicThresholdUnhealthyHostsStayOut) {
  PrioritySet hosts(testutil::flatCluster(endpointsWithUnhealthy(0, 4, 2)));
  RoundRobinLoadBalancer lb(hosts, {}, 1);
  EXPECT_EQ(countPicks(lb, 40), (std::map<int, int>{{2, 20}, {3, 20}}));
}

TEST(PriorityLbTest, PanicDisabledChoosesNothingWhenNothingIsHealthy) {
  LbPolicyConfig policy;
  policy.healthy_panic_threshold = 0;
  PrioritySet hosts(testutil::flatCluster(endpointsWithUnhealthy(0, 4, 4)));
  RoundRobinLoadBalancer lb(hosts, policy, 1);
  EXPECT_EQ(lb.choose({}), nullptr);
}

TEST(PriorityLbTest, PanicDisabledKeepsAvoidingUnhealthyHosts) {
  LbPolicyConfig policy;
  policy.healthy_panic_threshold = 0;
  PrioritySet hosts(testutil::flatCluster(endpointsWithUnhealthy(0, 4, 3)));
  RoundRobinLoadBalancer lb(hosts, policy, 1);
  EXPECT_EQ(countPicks(lb, 20), (std::map<int, int>{{3, 20}}));
}

TEST(PriorityLbTest, DrainingHostsAreNeverChosenEvenInPanic) {
  PrioritySet hosts(testutil::flatCluster({endpoint(0, 1, EdsHealth::kDraining),
                                           endpoint(1, 1, EdsHealth::kUnhealthy),
                                           endpoint(2, 1, EdsHealth::kUnhealthy)}));
  RoundRobinLoadBalancer lb(hosts, {}, 1);
  EXPECT_EQ(countPicks(lb, 20), (std::map<int, int>{{1, 10}, {2, 10}}));
}

TEST(PriorityLbTest, DegradedHostsServeWhatHealthyHostsCannot) {
  PrioritySet hosts(testutil::flatCluster(endpointsWithUnhealthy(0, 10, 5, EdsHealth::kDegraded)));
  RandomLoadBalancer lb(hosts, {}, 1);
  const std::map<int, int> counts = countPicks(lb, 10000);
  EXPECT_NEAR(picksIn(counts, 0, 5), 3000, 200);
  EXPECT_NEAR(picksIn(counts, 5, 10), 7000, 200);
}

TEST(PriorityLbTest, DegradedHostsIdleWhileHealthyHostsSuffice) {
  PrioritySet hosts(testutil::flatCluster(endpointsWithUnhealthy(0, 10, 2, EdsHealth::kDegraded)));
  RandomLoadBalancer lb(hosts, {}, 1);
  EXPECT_EQ(picksIn(countPicks(lb, 1000), 0, 2), 0);
}

TEST(PriorityLbTest, LocalitiesShareByWeight) {
  ClusterLbConfig config;
  config.policy.locality_weighted = true;
  config.localities.push_back(locality(0, testutil::endpoints(0, 2), 1));
  config.localities.push_back(locality(0, testutil::endpoints(2, 2), 3));
  PrioritySet hosts(config);
  RoundRobinLoadBalancer lb(hosts, config.policy, 1);
  // Locality choice is an exact schedule too: 1:3 over every cycle.
  EXPECT_EQ(countPicks(lb, 4096), (std::map<int, int>{{0, 512}, {1, 512}, {2, 1536}, {3, 1536}}));
}

TEST(PriorityLbTest, LocalityWeightShrinksWithItsHealth) {
  ClusterLbConfig config;
  config.policy.locality_weighted = true;
  config.localities.push_back(locality(0, endpointsWithUnhealthy(0, 4, 2), 1));
  config.localities.push_back(locality(0, testutil::endpoints(4, 4), 1));
  PrioritySet hosts(config);
  RoundRobinLoadBalancer lb(hosts, config.policy, 1);
  // Effective weights: 1 x min(1, 1.4 x 2/4) = 0.7 against 1, in units of 1/1024: 716 and 1024.
  const std::map<int, int> counts = countPicks(lb, 1740);
  EXPECT_EQ(picksIn(counts, 0, 4), 716);
  EXPECT_EQ(picksIn(counts, 4, 8), 1024);
}

TEST(PriorityLbTest, LocalitiesWithoutWeightGetNoTraffic) {
  ClusterLbConfig config;
  config.policy.locality_weighted = true;
  config.localities.push_back(locality(0, {endpoint(0)}, 0));
  config.localities.push_back(locality(0, {endpoint(1)}, 2));
  PrioritySet hosts(config);
  RoundRobinLoadBalancer lb(hosts, config.policy, 1);
  EXPECT_EQ(countPicks(lb, 50), (std::map<int, int>{{1, 50}}));
}

TEST(PriorityLbTest, WithNoWeightedLocalityTheLevelIsOnePool) {
  ClusterLbConfig config;
  config.policy.locality_weighted = true;
  config.localities.push_back(locality(0, {endpoint(0)}, 0));
  config.localities.push_back(locality(0, {endpoint(1)}, 0));
  PrioritySet hosts(config);
  RoundRobinLoadBalancer lb(hosts, config.policy, 1);
  EXPECT_EQ(countPicks(lb, 50), (std::map<int, int>{{0, 25}, {1, 25}}));
}

TEST(PriorityLbTest, LocalityWeightsAreIgnoredUnlessEnabled) {
  ClusterLbConfig config;
  config.localities.push_back(locality(0, {endpoint(0)}, 1));
  config.localities.push_back(locality(0, {endpoint(1)}, 3));
  PrioritySet hosts(config);
  RoundRobinLoadBalancer lb(hosts, config.policy, 1);
  EXPECT_EQ(countPicks(lb, 50), (std::map<int, int>{{0, 25}, {1, 25}}));
}

TEST(PriorityLbTest, HashPoliciesChooseTheLevelFromTheKey) {
  ClusterLbConfig config;
  config.policy.policy = LbPolicy::kMaglev;
  config.localities.push_back(locality(0, endpointsWithUnhealthy(0, 10, 5)));
  config.localities.push_back(locality(1, testutil::endpoints(10, 10)));
  PrioritySet hosts(config);
  MaglevLoadBalancer lb(hosts, config.policy, 1);
  int second_level = 0;
  for (int key = 0; key < 10000; ++key) {
    const LbContext context = testutil::hashed(hashKey("k" + std::to_string(key)));
    const Host* host = lb.choose(context);
    EXPECT_EQ(lb.choose(context), host);
    second_level += host->index() >= 10 ? 1 : 0;
  }
  EXPECT_NEAR(second_level, 3000, 200);
}

}  // namespace
}  // namespace weft::proxy::lb
