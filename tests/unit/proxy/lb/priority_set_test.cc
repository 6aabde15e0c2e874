#include "proxy/upstream/lb/priority_set.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <vector>

#include "tests/unit/proxy/lb/lb_test_util.h"

namespace weft::proxy::lb {
namespace {

using testutil::endpoint;
using testutil::locality;

std::vector<uint32_t> indices(std::span<Host* const> hosts) {
  std::vector<uint32_t> result;
  for (const Host* host : hosts) {
    result.push_back(host->index());
  }
  return result;
}

using Indices = std::vector<uint32_t>;

TEST(PrioritySetTest, GroupsHostsByPriorityAndLocality) {
  ClusterLbConfig config;
  config.localities.push_back(locality(0, {endpoint(0), endpoint(1)}, 1));
  config.localities.push_back(locality(1, {endpoint(2)}, 2));
  config.localities.push_back(locality(0, {endpoint(3)}, 3));
  PrioritySet set(config);

  ASSERT_EQ(set.hosts().size(), 4u);
  ASSERT_EQ(set.levels().size(), 2u);
  const HostSet& first = set.levels()[0];
  EXPECT_EQ(first.priority(), 0u);
  EXPECT_EQ(indices(first.members()), (Indices{0, 1, 3}));
  ASSERT_EQ(first.localityCount(), 2u);
  EXPECT_EQ(first.localityWeight(0), 1u);
  EXPECT_EQ(first.localityWeight(1), 3u);
  EXPECT_EQ(indices(first.list(HostSource::kHealthy, 0).hosts()), (Indices{0, 1}));
  EXPECT_EQ(indices(first.list(HostSource::kHealthy, 1).hosts()), (Indices{3}));
  EXPECT_EQ(set.hosts()[3].locality(), 1u);
  EXPECT_EQ(set.hosts()[3].level(), 0u);

  const HostSet& second = set.levels()[1];
  EXPECT_EQ(second.priority(), 1u);
  EXPECT_EQ(indices(second.members()), (Indices{2}));
  EXPECT_EQ(set.hosts()[2].level(), 1u);
  EXPECT_EQ(set.hosts()[2].priority(), 1u);
}

TEST(PrioritySetTest, SparsePrioritiesBecomeConsecutiveLevels) {
  ClusterLbConfig config;
  config.localities.push_back(locality(5, {endpoint(0)}));
  config.localities.push_back(locality(2, {endpoint(1)}));
  PrioritySet set(config);
  ASSERT_EQ(set.levels().size(), 2u);
  EXPECT_EQ(set.levels()[0].priority(), 2u);
  EXPECT_EQ(set.levels()[1].priority(), 5u);
  EXPECT_EQ(set.hosts()[0].level(), 1u);
}

TEST(PrioritySetTest, EmptyConfigHasNoLevels) {
  PrioritySet set(ClusterLbConfig{});
  EXPECT_TRUE(set.empty());
  EXPECT_TRUE(set.levels().empty());
  EXPECT_EQ(set.listCount(), 0u);
}

TEST(PrioritySetTest, EdsHealthSortsHostsIntoLists) {
  PrioritySet set(testutil::flatCluster({endpoint(0), endpoint(1, 1, EdsHealth::kUnhealthy),
                                         endpoint(2, 1, EdsHealth::kDegraded),
                                         endpoint(3, 1, EdsHealth::kDraining)}));
  const HostSet& level = set.levels()[0];
  EXPECT_EQ(indices(level.hosts(HostSource::kHealthy)), (Indices{0}));
  EXPECT_EQ(indices(level.hosts(HostSource::kDegraded)), (Indices{2}));
  // Draining hosts are in no list, not even the panic one, but stay members.
  EXPECT_EQ(indices(level.hosts(HostSource::kAll)), (Indices{0, 1, 2}));
  EXPECT_EQ(indices(level.members()), (Indices{0, 1, 2, 3}));
  EXPECT_EQ(set.hosts()[3].health(), HostHealth::kDraining);
}

TEST(PrioritySetTest, FlagsTakeEffectAtTheNextRefresh) {
  PrioritySet set(testutil::flatCluster(testutil::endpoints(0, 3)));
  const uint64_t version = set.healthVersion();
  set.setFlag(set.hosts()[1], HostFlag::kOutlierEjected, true);
  EXPECT_NE(set.healthVersion(), version);
  EXPECT_EQ(set.hosts()[1].health(), HostHealth::kUnhealthy);
  // Lists are recomputed lazily.
  EXPECT_EQ(indices(set.levels()[0].hosts(HostSource::kHealthy)), (Indices{0, 1, 2}));
  set.refresh();
  EXPECT_EQ(indices(set.levels()[0].hosts(HostSource::kHealthy)), (Indices{0, 2}));

  set.setFlag(set.hosts()[1], HostFlag::kOutlierEjected, false);
  set.refresh();
  EXPECT_EQ(indices(set.levels()[0].hosts(HostSource::kHealthy)), (Indices{0, 1, 2}));
}

TEST(PrioritySetTest, VersionMovesOnlyWhenHealthChanges) {
  PrioritySet set(testutil::flatCluster({endpoint(0, 1, EdsHealth::kUnhealthy)}));
  Host& host = set.hosts()[0];
  const uint64_t version = set.healthVersion();
  // Already unhealthy: ejecting changes a flag but not the health.
  set.setFlag(host, HostFlag::kOutlierEjected, true);
  EXPECT_TRUE(host.hasFlag(HostFlag::kOutlierEjected));
  EXPECT_EQ(set.healthVersion(), version);
  set.setFlag(host, HostFlag::kEdsUnhealthy, false);
  EXPECT_EQ(set.healthVersion(), version);  // still ejected
  set.setFlag(host, HostFlag::kOutlierEjected, false);
  EXPECT_NE(set.healthVersion(), version);
  EXPECT_EQ(host.health(), HostHealth::kHealthy);
}

TEST(PrioritySetTest, TheWorstReasonWins) {
  PrioritySet set(testutil::flatCluster(testutil::endpoints(0, 1)));
  Host& host = set.hosts()[0];
  set.setFlag(host, HostFlag::kDegradedActiveHealthCheck, true);
  EXPECT_EQ(host.health(), HostHealth::kDegraded);
  set.setFlag(host, HostFlag::kFailedActiveHealthCheck, true);
  EXPECT_EQ(host.health(), HostHealth::kUnhealthy);
  set.setFlag(host, HostFlag::kEdsDraining, true);
  EXPECT_EQ(host.health(), HostHealth::kDraining);
  set.setFlag(host, HostFlag::kEdsDraining, false);
  set.setFlag(host, HostFlag::kFailedActiveHealthCheck, false);
  EXPECT_EQ(host.health(), HostHealth::kDegraded);
}

TEST(PrioritySetTest, UnchangedListsKeepTheirVersion) {
  ClusterLbConfig config;
  config.localities.push_back(locality(0, {endpoint(0), endpoint(1)}, 1));
  config.localities.push_back(locality(0, {endpoint(2), endpoint(3)}, 1));
  PrioritySet set(config);
  const HostSet& level = set.levels()[0];
  const uint64_t other_locality = level.list(HostSource::kHealthy, 1).version();
  const uint64_t own_locality = level.list(HostSource::kHealthy, 0).version();
  const uint64_t panic_list = level.list(HostSource::kAll).version();

  set.setFlag(set.hosts()[0], HostFlag::kOutlierEjected, true);
  set.refresh();
  EXPECT_EQ(level.list(HostSource::kHealthy, 1).version(), other_locality);
  EXPECT_NE(level.list(HostSource::kHealthy, 0).version(), own_locality);
  EXPECT_EQ(level.list(HostSource::kAll).version(), panic_list);  // unhealthy is still "all"
}

TEST(PrioritySetTest, ListIdsAreDenseAndContainsMatchesTheLists) {
  ClusterLbConfig config;
  config.localities.push_back(locality(0, {endpoint(0), endpoint(1, 1, EdsHealth::kDegraded)}));
  config.localities.push_back(locality(1, {endpoint(2, 1, EdsHealth::kUnhealthy), endpoint(3)}));
  PrioritySet set(config);
  // Two levels of one locality each: (1 + 1) x 3 lists per level.
  ASSERT_EQ(set.listCount(), 12u);
  for (uint32_t id = 0; id < set.listCount(); ++id) {
    const HostList& list = set.list(id);
    EXPECT_EQ(list.id(), id);
    for (const Host& host : set.hosts()) {
      const bool listed =
          std::find(list.hosts().begin(), list.hosts().end(), &host) != list.hosts().end();
      EXPECT_EQ(list.contains(host), listed) << "list " << id << " host " << host.index();
    }
  }
}

TEST(PrioritySetTest, HostDescribesItsEndpoint) {
  PrioritySet set(testutil::flatCluster({endpoint(258, 7)}));
  const Host& host = set.hosts()[0];
  EXPECT_EQ(host.hashKey(), "10.0.1.2:8080");
  EXPECT_EQ(host.weight(), 7u);
  EXPECT_EQ(host.address().port(), 8080);

  Host& mutable_host = set.hosts()[0];
  mutable_host.requestStarted();
  mutable_host.requestStarted();
  mutable_host.requestFinished();
  EXPECT_EQ(host.activeRequests(), 1u);
  mutable_host.requestFinished();
  mutable_host.requestFinished();  // never below zero
  EXPECT_EQ(host.activeRequests(), 0u);
}

TEST(PrioritySetTest, IPv6HashKeyIsBracketed) {
  EndpointConfig config;
  config.address = boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("fd00::1"), 80);
  PrioritySet set(testutil::flatCluster({config}));
  EXPECT_EQ(set.hosts()[0].hashKey(), "[fd00::1]:80");
}

TEST(PrioritySetTest, ZeroWeightCountsAsOne) {
  PrioritySet set(testutil::flatCluster({endpoint(0, 0)}));
  EXPECT_EQ(set.hosts()[0].weight(), 1u);
}

}  // namespace
}  // namespace weft::proxy::lb
