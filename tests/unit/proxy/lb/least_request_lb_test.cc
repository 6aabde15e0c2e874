#include "proxy/upstream/lb/least_request_lb.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/unit/proxy/lb/lb_test_util.h"

namespace weft::proxy::lb {
namespace {

using testutil::countPicks;
using testutil::endpoint;
using testutil::flatCluster;

LbPolicyConfig leastRequest(uint32_t choice_count = 2) {
  LbPolicyConfig config;
  config.policy = LbPolicy::kLeastRequest;
  config.choice_count = choice_count;
  return config;
}

void setActive(Host& host, uint32_t active) {
  while (host.activeRequests() < active) {
    host.requestStarted();
  }
  while (host.activeRequests() > active) {
    host.requestFinished();
  }
}

TEST(LeastRequestLbTest, TwoChoicesPreferTheLessLoadedHost) {
  PrioritySet hosts(flatCluster(testutil::endpoints(0, 2)));
  setActive(hosts.hosts()[0], 10);
  LeastRequestLoadBalancer lb(hosts, leastRequest(), 5);
  // The busy host wins only when both draws are it: 1 in 4.
  const std::map<int, int> counts = countPicks(lb, 4000);
  EXPECT_NEAR(counts.at(0), 1000, 100);
  EXPECT_NEAR(counts.at(1), 3000, 100);
}

TEST(LeastRequestLbTest, MoreChoicesFindTheLeastLoadedHost) {
  PrioritySet hosts(flatCluster(testutil::endpoints(0, 4)));
  setActive(hosts.hosts()[0], 5);
  setActive(hosts.hosts()[1], 3);
  setActive(hosts.hosts()[2], 1);
  setActive(hosts.hosts()[3], 4);
  LeastRequestLoadBalancer lb(hosts, leastRequest(100), 5);
  EXPECT_EQ(countPicks(lb, 200), (std::map<int, int>{{2, 200}}));
}

TEST(LeastRequestLbTest, ActiveRequestsAreScaledByWeight) {
  PrioritySet hosts(flatCluster({endpoint(0, 4), endpoint(1, 1)}));
  LeastRequestLoadBalancer lb(hosts, leastRequest(100), 5);
  // 4 requests on weight 4 (1 per unit) beat 2 on weight 1 (2 per unit).
  setActive(hosts.hosts()[0], 4);
  setActive(hosts.hosts()[1], 2);
  EXPECT_EQ(countPicks(lb, 100), (std::map<int, int>{{0, 100}}));
  // 12 on weight 4 (3 per unit) lose to 2 on weight 1.
  setActive(hosts.hosts()[0], 12);
  EXPECT_EQ(countPicks(lb, 100), (std::map<int, int>{{1, 100}}));
}

TEST(LeastRequestLbTest, IdleHostsArePickedInProportionToWeight) {
  PrioritySet hosts(flatCluster({endpoint(0, 1), endpoint(1, 3)}));
  LeastRequestLoadBalancer lb(hosts, leastRequest(), 11);
  const std::map<int, int> counts = countPicks(lb, 40000);
  EXPECT_NEAR(counts.at(0), 10000, 400);
  EXPECT_NEAR(counts.at(1), 30000, 400);
}

TEST(LeastRequestLbTest, KeepsActiveRequestsBalancedUnderLoad) {
  PrioritySet hosts(flatCluster(testutil::endpoints(0, 8)));
  LeastRequestLoadBalancer lb(hosts, leastRequest(), 13);
  Random random(99);
  std::vector<Host*> in_flight;
  for (int i = 0; i < 10000; ++i) {
    Host* host = lb.choose({});
    host->requestStarted();
    in_flight.push_back(host);
    // Keep about 200 requests in flight; a random one completes.
    if (in_flight.size() > 200) {
      const size_t done = random.below(in_flight.size());
      in_flight[done]->requestFinished();
      in_flight[done] = in_flight.back();
      in_flight.pop_back();
    }
  }
  uint32_t lowest = ~0u;
  uint32_t highest = 0;
  for (const Host& host : hosts.hosts()) {
    lowest = std::min(lowest, host.activeRequests());
    highest = std::max(highest, host.activeRequests());
  }
  // 200 / 8 = 25 per host; random picks would spread them far wider.
  EXPECT_LE(highest - lowest, 6u);
}

TEST(LeastRequestLbTest, AvoidsHostsAlreadyTried) {
  PrioritySet hosts(flatCluster(testutil::endpoints(0, 3)));
  setActive(hosts.hosts()[1], 100);
  setActive(hosts.hosts()[2], 100);
  LeastRequestLoadBalancer lb(hosts, leastRequest(), 17);
  const std::vector<const Host*> tried = {&hosts.hosts()[0]};
  LbContext context;
  context.excluded = tried;
  const std::map<int, int> counts = countPicks(lb, 300, context);
  EXPECT_EQ(counts.count(0), 0u);
  EXPECT_EQ(counts.at(1) + counts.at(2), 300);
}

TEST(LeastRequestLbTest, SkipsUnhealthyHostsEvenWhenIdle) {
  PrioritySet hosts(flatCluster({endpoint(0), endpoint(1), endpoint(2), endpoint(3)}));
  hosts.setFlag(hosts.hosts()[0], HostFlag::kOutlierEjected, true);
  setActive(hosts.hosts()[1], 50);
  setActive(hosts.hosts()[2], 50);
  setActive(hosts.hosts()[3], 50);
  LeastRequestLoadBalancer lb(hosts, leastRequest(), 19);
  EXPECT_EQ(countPicks(lb, 100).count(0), 0u);
}

}  // namespace
}  // namespace weft::proxy::lb
