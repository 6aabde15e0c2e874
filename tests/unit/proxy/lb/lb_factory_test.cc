#include "proxy/upstream/lb/lb_factory.h"

#include <gtest/gtest.h>

#include "proxy/upstream/lb/hash.h"
#include "proxy/upstream/lb/lb_config_proto.h"
#include "proxy/upstream/lb/least_request_lb.h"
#include "proxy/upstream/lb/random_lb.h"
#include "proxy/upstream/lb/round_robin_lb.h"
#include "tests/unit/proxy/lb/lb_test_util.h"
#include "tests/unit/proxy/lb/mock_load_balancer.h"

namespace weft::proxy::lb {
namespace {

using testutil::flatCluster;

template <typename Expected>
bool createsA(LbPolicy policy) {
  const LoadBalancerFactory factory(flatCluster(testutil::endpoints(0, 3), policy));
  const auto hosts = factory.createPrioritySet();
  const LoadBalancerPtr lb = factory.create(*hosts, 1);
  return dynamic_cast<Expected*>(lb.get()) != nullptr && lb->choose(testutil::hashed(1)) != nullptr;
}

TEST(LoadBalancerFactoryTest, CreatesTheConfiguredPolicy) {
  EXPECT_TRUE(createsA<RoundRobinLoadBalancer>(LbPolicy::kRoundRobin));
  EXPECT_TRUE(createsA<LeastRequestLoadBalancer>(LbPolicy::kLeastRequest));
  EXPECT_TRUE(createsA<RandomLoadBalancer>(LbPolicy::kRandom));
  EXPECT_TRUE(createsA<RingHashLoadBalancer>(LbPolicy::kRingHash));
  EXPECT_TRUE(createsA<MaglevLoadBalancer>(LbPolicy::kMaglev));
}

TEST(LoadBalancerFactoryTest, WorkersShareTablesButNotHostState) {
  const LoadBalancerFactory factory(flatCluster(testutil::endpoints(0, 6), LbPolicy::kMaglev));
  const auto hosts_a = factory.createPrioritySet();
  const auto hosts_b = factory.createPrioritySet();
  const LoadBalancerPtr lb_a = factory.create(*hosts_a, 1);
  const LoadBalancerPtr lb_b = factory.create(*hosts_b, 2);
  EXPECT_EQ(&dynamic_cast<MaglevLoadBalancer&>(*lb_a).table(0),
            &dynamic_cast<MaglevLoadBalancer&>(*lb_b).table(0));

  // Worker A ejects the owner of a key; worker B keeps sending the key there.
  const LbContext context = testutil::hashed(hashKey("key"));
  Host* owner_a = lb_a->choose(context);
  const uint32_t owner = owner_a->index();
  hosts_a->setFlag(*owner_a, HostFlag::kOutlierEjected, true);
  EXPECT_NE(lb_a->choose(context)->index(), owner);
  EXPECT_EQ(lb_b->choose(context)->index(), owner);
}

TEST(LoadBalancerFactoryTest, APrioritySetOfAnotherShapeGetsItsOwnTables) {
  const LoadBalancerFactory factory(flatCluster(testutil::endpoints(0, 6), LbPolicy::kRingHash));
  PrioritySet other(flatCluster(testutil::endpoints(0, 2)));
  const LoadBalancerPtr lb = factory.create(other, 1);
  for (int key = 0; key < 100; ++key) {
    const Host* host = lb->choose(testutil::hashed(hashKey(std::to_string(key))));
    ASSERT_NE(host, nullptr);
    EXPECT_LT(host->index(), 2u);
  }
}

TEST(LoadBalancerFactoryTest, NormalizesOutOfRangeSettings) {
  ClusterLbConfig config = flatCluster(testutil::endpoints(0, 2), LbPolicy::kLeastRequest);
  config.policy.choice_count = 0;
  config.policy.overprovisioning_factor = 5;
  config.policy.healthy_panic_threshold = 400;
  config.policy.minimum_ring_size = 0;
  config.policy.maximum_ring_size = 0;
  const LoadBalancerFactory factory(config);
  EXPECT_EQ(factory.config().policy.choice_count, 2u);
  EXPECT_EQ(factory.config().policy.overprovisioning_factor, 100u);
  EXPECT_EQ(factory.config().policy.healthy_panic_threshold, 100.0);
  EXPECT_EQ(factory.config().policy.minimum_ring_size, 1u);
  EXPECT_EQ(factory.config().policy.maximum_ring_size, 1u);
}

TEST(LbConfigProtoTest, UnsetFieldsTakeTheApiDefaults) {
  const LbPolicyConfig config =
      lbPolicyFromProto(weft::v1::Cluster{}, weft::v1::ClusterLoadAssignment{});
  EXPECT_EQ(config.policy, LbPolicy::kRoundRobin);
  EXPECT_EQ(config.choice_count, 2u);
  EXPECT_EQ(config.minimum_ring_size, 1024u);
  EXPECT_EQ(config.maximum_ring_size, 8388608u);
  EXPECT_EQ(config.maglev_table_size, 65537u);
  EXPECT_FALSE(config.locality_weighted);
  EXPECT_EQ(config.healthy_panic_threshold, 50.0);
  EXPECT_EQ(config.overprovisioning_factor, 140u);
}

TEST(LbConfigProtoTest, ReadsEverySetting) {
  weft::v1::Cluster cluster;
  cluster.set_lb_policy(weft::v1::Cluster::LEAST_REQUEST);
  cluster.mutable_least_request()->mutable_choice_count()->set_value(5);
  cluster.set_locality_weighted_lb(true);
  cluster.mutable_healthy_panic_threshold()->set_value(0);
  weft::v1::ClusterLoadAssignment assignment;
  assignment.mutable_policy()->mutable_overprovisioning_factor()->set_value(200);
  LbPolicyConfig config = lbPolicyFromProto(cluster, assignment);
  EXPECT_EQ(config.policy, LbPolicy::kLeastRequest);
  EXPECT_EQ(config.choice_count, 5u);
  EXPECT_TRUE(config.locality_weighted);
  EXPECT_EQ(config.healthy_panic_threshold, 0.0);  // explicitly disabled, not the default
  EXPECT_EQ(config.overprovisioning_factor, 200u);

  cluster.set_lb_policy(weft::v1::Cluster::RING_HASH);
  cluster.mutable_ring_hash()->mutable_minimum_ring_size()->set_value(64);
  cluster.mutable_ring_hash()->mutable_maximum_ring_size()->set_value(4096);
  config = lbPolicyFromProto(cluster, assignment);
  EXPECT_EQ(config.policy, LbPolicy::kRingHash);
  EXPECT_EQ(config.minimum_ring_size, 64u);
  EXPECT_EQ(config.maximum_ring_size, 4096u);

  cluster.set_lb_policy(weft::v1::Cluster::MAGLEV);
  cluster.mutable_maglev()->mutable_table_size()->set_value(251);
  config = lbPolicyFromProto(cluster, assignment);
  EXPECT_EQ(config.policy, LbPolicy::kMaglev);
  EXPECT_EQ(config.maglev_table_size, 251u);

  cluster.set_lb_policy(weft::v1::Cluster::RANDOM);
  EXPECT_EQ(lbPolicyFromProto(cluster, assignment).policy, LbPolicy::kRandom);
}

TEST(LbConfigProtoTest, MapsEdsHealth) {
  EXPECT_EQ(edsHealthFromProto(weft::v1::HEALTH_STATUS_UNKNOWN), EdsHealth::kHealthy);
  EXPECT_EQ(edsHealthFromProto(weft::v1::HEALTHY), EdsHealth::kHealthy);
  EXPECT_EQ(edsHealthFromProto(weft::v1::UNHEALTHY), EdsHealth::kUnhealthy);
  EXPECT_EQ(edsHealthFromProto(weft::v1::DRAINING), EdsHealth::kDraining);
  EXPECT_EQ(edsHealthFromProto(weft::v1::DEGRADED), EdsHealth::kDegraded);
}

TEST(MockLoadBalancerTest, ScriptsChoices) {
  PrioritySet hosts(flatCluster(testutil::endpoints(0, 1)));
  MockLoadBalancer lb;
  EXPECT_CALL(lb, choose(::testing::_))
      .WillOnce(::testing::Return(&hosts.hosts()[0]))
      .WillOnce(::testing::Return(nullptr));
  LoadBalancer& interface = lb;
  EXPECT_EQ(interface.choose({}), &hosts.hosts()[0]);
  EXPECT_EQ(interface.choose({}), nullptr);
}

TEST(LbConfigTest, PolicyNames) {
  EXPECT_STREQ(lbPolicyName(LbPolicy::kRoundRobin), "ROUND_ROBIN");
  EXPECT_STREQ(lbPolicyName(LbPolicy::kMaglev), "MAGLEV");
}

}  // namespace
}  // namespace weft::proxy::lb
