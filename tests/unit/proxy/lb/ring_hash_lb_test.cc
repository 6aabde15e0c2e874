#include "proxy/upstream/lb/ring_hash_lb.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "proxy/upstream/lb/hash.h"
#include "tests/unit/proxy/lb/lb_test_util.h"

namespace weft::proxy::lb {
namespace {

using testutil::endpoint;
using testutil::flatCluster;
using testutil::hashed;

LbPolicyConfig ringHash(uint64_t minimum = 1024, uint64_t maximum = 8388608) {
  LbPolicyConfig config;
  config.policy = LbPolicy::kRingHash;
  config.minimum_ring_size = minimum;
  config.maximum_ring_size = maximum;
  return config;
}

uint64_t keyHash(int key) {
  return hashKey("session-" + std::to_string(key));
}

// The endpoint address (as "ip:port") each of `keys` keys maps to.
std::vector<std::string> mapKeys(LoadBalancer& lb, int keys) {
  std::vector<std::string> result;
  for (int key = 0; key < keys; ++key) {
    result.push_back(lb.choose(hashed(keyHash(key)))->hashKey());
  }
  return result;
}

std::map<std::string, int> tally(const std::vector<std::string>& owners) {
  std::map<std::string, int> counts;
  for (const std::string& owner : owners) {
    ++counts[owner];
  }
  return counts;
}

TEST(RingHashLbTest, SameKeySameHostOnEveryWorker) {
  PrioritySet worker_a(flatCluster(testutil::endpoints(0, 10)));
  PrioritySet worker_b(flatCluster(testutil::endpoints(0, 10)));
  RingHashLoadBalancer lb_a(worker_a, ringHash(), 1);
  RingHashLoadBalancer lb_b(worker_b, ringHash(), 2);
  const std::vector<std::string> owners = mapKeys(lb_a, 1000);
  EXPECT_EQ(owners, mapKeys(lb_a, 1000));
  EXPECT_EQ(owners, mapKeys(lb_b, 1000));
}

TEST(RingHashLbTest, RingSizeFollowsTheBoundsAndWeights) {
  PrioritySet three(flatCluster(testutil::endpoints(0, 3)));
  // The lightest host's share of the minimum, rounded up to whole entries: 342 x 3.
  EXPECT_EQ(HashRing(three.levels()[0].members(), 1024, 8388608).entries().size(), 1026u);
  EXPECT_EQ(HashRing(three.levels()[0].members(), 1024, 100).entries().size(), 100u);

  PrioritySet weighted(flatCluster({endpoint(0, 1), endpoint(1, 3)}));
  const HashRing ring(weighted.levels()[0].members(), 1024, 8388608);
  ASSERT_EQ(ring.entries().size(), 1024u);
  std::map<uint32_t, int> per_member;
  for (const HashRing::Entry& entry : ring.entries()) {
    ++per_member[entry.member];
  }
  EXPECT_EQ(per_member, (std::map<uint32_t, int>{{0, 256}, {1, 768}}));
  EXPECT_TRUE(std::is_sorted(
      ring.entries().begin(), ring.entries().end(),
      [](const HashRing::Entry& a, const HashRing::Entry& b) { return a.hash < b.hash; }));
}

TEST(RingHashLbTest, KeysSpreadEvenlyOverHosts) {
  PrioritySet hosts(flatCluster(testutil::endpoints(0, 10)));
  RingHashLoadBalancer lb(hosts, ringHash(16384), 1);
  const std::map<std::string, int> counts = tally(mapKeys(lb, 100000));
  ASSERT_EQ(counts.size(), 10u);
  for (const auto& [host, count] : counts) {
    EXPECT_NEAR(count, 10000, 600) << host;
  }
}

TEST(RingHashLbTest, WeightsScaleTheShareOfKeys) {
  PrioritySet hosts(flatCluster({endpoint(0, 1), endpoint(1, 3)}));
  RingHashLoadBalancer lb(hosts, ringHash(16384), 1);
  const std::map<std::string, int> counts = tally(mapKeys(lb, 40000));
  EXPECT_NEAR(counts.at("10.0.0.0:8080"), 10000, 1000);
  EXPECT_NEAR(counts.at("10.0.0.1:8080"), 30000, 1000);
}

TEST(RingHashLbTest, RemovingAHostMovesFewOtherKeys) {
  std::vector<EndpointConfig> all = testutil::endpoints(0, 10);
  PrioritySet before_hosts(flatCluster(all));
  all.erase(all.begin() + 4);
  PrioritySet after_hosts(flatCluster(all));
  RingHashLoadBalancer before(before_hosts, ringHash(), 1);
  RingHashLoadBalancer after(after_hosts, ringHash(), 1);

  const int keys = 20000;
  const std::vector<std::string> owners_before = mapKeys(before, keys);
  const std::vector<std::string> owners_after = mapKeys(after, keys);
  int removed_keys = 0;
  int moved_others = 0;
  for (int key = 0; key < keys; ++key) {
    if (owners_before[key] == "10.0.0.4:8080") {
      ++removed_keys;
      EXPECT_NE(owners_after[key], owners_before[key]);
    } else if (owners_after[key] != owners_before[key]) {
      ++moved_others;
    }
  }
  EXPECT_NEAR(removed_keys, keys / 10, keys / 30);
  // The ring grows each remaining host's entries from 103 to 114, and the new entries take a
  // little from the others: about 8% of all keys, against 90% for a modulo hash.
  EXPECT_LT(moved_others, keys * 12 / 100);
}

TEST(RingHashLbTest, AnUnhealthyHostHandsOnlyItsOwnKeysToItsSuccessors) {
  PrioritySet hosts(flatCluster(testutil::endpoints(0, 10)));
  RingHashLoadBalancer lb(hosts, ringHash(), 1);
  const std::vector<std::string> owners = mapKeys(lb, 5000);
  hosts.setFlag(hosts.hosts()[3], HostFlag::kOutlierEjected, true);
  const std::vector<std::string> during = mapKeys(lb, 5000);
  std::set<std::string> heirs;
  for (size_t key = 0; key < owners.size(); ++key) {
    if (owners[key] == "10.0.0.3:8080") {
      EXPECT_NE(during[key], owners[key]);
      heirs.insert(during[key]);
    } else {
      EXPECT_EQ(during[key], owners[key]) << "key " << key;
    }
  }
  // Its ring entries are scattered, so its keys fan out rather than all landing on one host.
  EXPECT_GE(heirs.size(), 5u);

  hosts.setFlag(hosts.hosts()[3], HostFlag::kOutlierEjected, false);
  EXPECT_EQ(mapKeys(lb, 5000), owners);
}

TEST(RingHashLbTest, ARetrySkipsTheHostAlreadyTried) {
  PrioritySet hosts(flatCluster(testutil::endpoints(0, 5)));
  RingHashLoadBalancer lb(hosts, ringHash(), 1);
  for (int key = 0; key < 200; ++key) {
    LbContext context = hashed(keyHash(key));
    const Host* first = lb.choose(context);
    const std::vector<const Host*> tried = {first};
    context.excluded = tried;
    const Host* retry = lb.choose(context);
    ASSERT_NE(retry, nullptr);
    EXPECT_NE(retry, first);
    EXPECT_EQ(lb.choose(context), retry);  // the retry target is itself stable
  }
}

TEST(RingHashLbTest, WithoutAHashPicksSpreadRandomly) {
  PrioritySet hosts(flatCluster(testutil::endpoints(0, 4)));
  RingHashLoadBalancer lb(hosts, ringHash(), 1);
  EXPECT_EQ(testutil::countPicks(lb, 1000).size(), 4u);
}

TEST(RingHashLbTest, MoreHostsThanRingEntriesStillServesEveryHealthyHost) {
  PrioritySet hosts(flatCluster(testutil::endpoints(0, 4)));
  RingHashLoadBalancer lb(hosts, ringHash(1, 2), 1);
  ASSERT_EQ(lb.ring(0).entries().size(), 2u);
  for (uint32_t member : {lb.ring(0).entries()[0].member, lb.ring(0).entries()[1].member}) {
    hosts.setFlag(hosts.hosts()[member], HostFlag::kOutlierEjected, true);
  }
  // Two of four ejected: the level is at 50%, not in panic; the two hosts without entries serve.
  const Host* host = lb.choose(hashed(1));
  ASSERT_NE(host, nullptr);
  EXPECT_EQ(host->health(), HostHealth::kHealthy);
}

TEST(RingHashLbTest, EmptyClusterChoosesNothing) {
  PrioritySet hosts(ClusterLbConfig{});
  RingHashLoadBalancer lb(hosts, ringHash(), 1);
  EXPECT_EQ(lb.choose(hashed(1)), nullptr);
}

}  // namespace
}  // namespace weft::proxy::lb
