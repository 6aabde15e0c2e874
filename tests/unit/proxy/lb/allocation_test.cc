// choose() must not allocate, including the first pick after a health change (which rebuilds
// lists, loads and schedulers within preallocated capacity). Counted by replacing the global
// operator new for this test binary.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>

#include "proxy/upstream/lb/lb_factory.h"
#include "tests/unit/proxy/lb/lb_test_util.h"

namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* memory = std::malloc(size == 0 ? 1 : size)) {
    return memory;
  }
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  return operator new(size);
}
void operator delete(void* memory) noexcept {
  std::free(memory);
}
void operator delete[](void* memory) noexcept {
  std::free(memory);
}
void operator delete(void* memory, std::size_t) noexcept {
  std::free(memory);
}
void operator delete[](void* memory, std::size_t) noexcept {
  std::free(memory);
}

namespace weft::proxy::lb {
namespace {

using testutil::endpoint;
using testutil::locality;

// Two priorities, two weighted localities in the first, unequal host weights, a degraded host.
ClusterLbConfig busyCluster(LbPolicy policy) {
  ClusterLbConfig config;
  config.policy.policy = policy;
  config.policy.locality_weighted = true;
  config.localities.push_back(locality(0, {endpoint(0, 3), endpoint(1, 1), endpoint(2, 2)}, 2));
  config.localities.push_back(
      locality(0, {endpoint(3, 1), endpoint(4, 5), endpoint(5, 1, EdsHealth::kDegraded)}, 1));
  config.localities.push_back(locality(1, {endpoint(6, 1), endpoint(7, 4)}, 1));
  return config;
}

class AllocationTest : public ::testing::TestWithParam<LbPolicy> {};

TEST(AllocationCounterTest, CountsAllocations) {
  const uint64_t before = g_allocations.load();
  auto probe = std::make_unique<int>(1);
  EXPECT_EQ(g_allocations.load() - before, 1u);
}

TEST_P(AllocationTest, ChoosingAllocatesNothing) {
  const LoadBalancerFactory factory(busyCluster(GetParam()));
  const auto hosts = factory.createPrioritySet();
  const LoadBalancerPtr lb = factory.create(*hosts, 7);
  const std::vector<const Host*> tried = {&hosts->hosts()[0]};
  LbContext context;
  context.excluded = tried;

  const uint64_t before = g_allocations.load();
  uint64_t chosen = 0;
  for (int round = 0; round < 50; ++round) {
    // Eject and restore hosts so that every round starts with a health change: spillover,
    // panic and locality weights all get recomputed.
    Host& host = hosts->hosts()[static_cast<size_t>(round) % hosts->hosts().size()];
    hosts->setFlag(host, HostFlag::kOutlierEjected, round % 2 == 0);
    hosts->setFlag(hosts->hosts()[1], HostFlag::kFailedActiveHealthCheck, round % 3 == 0);
    for (int pick = 0; pick < 40; ++pick) {
      context.hash = static_cast<uint64_t>(round * 1000 + pick) * 0x9E3779B97F4A7C15ULL;
      Host* host_chosen = lb->choose(context);
      chosen += host_chosen != nullptr ? 1 : 0;
      if (host_chosen != nullptr) {
        host_chosen->requestStarted();
      }
    }
  }
  const uint64_t allocations = g_allocations.load() - before;
  EXPECT_EQ(allocations, 0u);
  EXPECT_EQ(chosen, 50u * 40u);
}

INSTANTIATE_TEST_SUITE_P(EveryPolicy, AllocationTest,
                         ::testing::Values(LbPolicy::kRoundRobin, LbPolicy::kLeastRequest,
                                           LbPolicy::kRandom, LbPolicy::kRingHash,
                                           LbPolicy::kMaglev),
                         [](const ::testing::TestParamInfo<LbPolicy>& param_info) {
                           std::string name = lbPolicyName(param_info.param);
                           std::erase(name, '_');
                           return name;
                         });

}  // namespace
}  // namespace weft::proxy::lb
