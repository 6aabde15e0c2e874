// Outlier detection on one worker's hosts, with the test driving the clock:
// consecutive failures, gateway failures, the growing ejection time, the
// forgiveness of calm intervals, max_ejection_percent, and success rate.
#include <gtest/gtest.h>

#include "proxy/upstream/lb/lb_config.h"
#include "proxy/upstream/resilience/circuit_breaker.h"
#include "proxy/upstream/resilience/outlier_detector.h"

namespace weft::proxy {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

lb::ClusterLbConfig hostsConfig(int count) {
  lb::ClusterLbConfig config;
  lb::LocalityConfig locality;
  for (int i = 0; i < count; ++i) {
    lb::EndpointConfig endpoint;
    endpoint.address = boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"),
                                                      static_cast<uint16_t>(1000 + i));
    locality.endpoints.push_back(endpoint);
  }
  config.localities.push_back(locality);
  return config;
}

const AttemptResult kOk{AttemptFailure::kNone, 200, -1};
const AttemptResult k500{AttemptFailure::kNone, 500, -1};
const AttemptResult k503{AttemptFailure::kNone, 503, -1};
const AttemptResult kReset{AttemptFailure::kReset, 0, -1};
const AttemptResult kOverflow{AttemptFailure::kOverflow, 0, -1};

class OutlierDetectorTest : public ::testing::Test {
 protected:
  explicit OutlierDetectorTest(int hosts = 4) : set_(hostsConfig(hosts)) {}
  lb::Host& host(size_t i) { return set_.hosts()[i]; }
  bool out(size_t i) { return host(i).hasFlag(lb::HostFlag::kOutlierEjected); }

  lb::PrioritySet set_;
  Clock::time_point start_ = Clock::now();
};

TEST_F(OutlierDetectorTest, ConsecutiveFailuresEjectAndASuccessResetsTheCount) {
  OutlierConfig config;
  config.consecutive_5xx = 3;
  config.max_ejection_percent = 50;
  OutlierDetector detector(config, set_, start_);
  detector.report(host(0), k500, start_);
  detector.report(host(0), kReset, start_);  // local failures count as 5xx unless split
  detector.report(host(0), kOk, start_);
  detector.report(host(0), k500, start_);
  detector.report(host(0), k500, start_);
  EXPECT_FALSE(out(0));
  detector.report(host(0), k500, start_);
  EXPECT_TRUE(out(0));
  EXPECT_EQ(detector.ejectedCount(), 1u);
  // The proxy's own refusals say nothing about the host.
  for (int i = 0; i < 10; ++i) {
    detector.report(host(1), kOverflow, start_);
  }
  EXPECT_FALSE(out(1));
}

TEST_F(OutlierDetectorTest, GatewayFailuresHaveTheirOwnCount) {
  OutlierConfig config;
  config.consecutive_5xx = 0;
  config.consecutive_gateway = 2;
  config.max_ejection_percent = 50;
  OutlierDetector detector(config, set_, start_);
  detector.report(host(0), k500, start_);
  detector.report(host(0), k500, start_);
  EXPECT_FALSE(out(0));  // 500 is not a gateway failure
  detector.report(host(0), k503, start_);
  detector.report(host(0), kReset, start_);
  EXPECT_TRUE(out(0));
}

TEST_F(OutlierDetectorTest, GrpcAnswersCountByWhatTheyMeanForTheHost) {
  OutlierConfig config;
  config.consecutive_5xx = 0;
  config.consecutive_gateway = 2;
  config.max_ejection_percent = 50;
  OutlierDetector detector(config, set_, start_);
  const AttemptResult grpc_ok{AttemptFailure::kNone, 200, 0};
  const AttemptResult not_found{AttemptFailure::kNone, 200, 5};
  const AttemptResult unavailable{AttemptFailure::kNone, 200, 14};
  // NOT_FOUND is the application's answer, not the host failing.
  detector.report(host(0), not_found, start_);
  detector.report(host(0), not_found, start_);
  EXPECT_FALSE(out(0));
  detector.report(host(0), unavailable, start_);
  detector.report(host(0), grpc_ok, start_);  // resets the count
  detector.report(host(0), unavailable, start_);
  EXPECT_FALSE(out(0));
  detector.report(host(0), unavailable, start_);
  EXPECT_TRUE(out(0));
  EXPECT_EQ(hostFacingStatus(unavailable), 503u);
  EXPECT_EQ(hostFacingStatus({AttemptFailure::kNone, 200, 4}), 504u);
  EXPECT_EQ(hostFacingStatus({AttemptFailure::kNone, 200, 13}), 500u);
  EXPECT_EQ(hostFacingStatus(not_found), 200u);
}

TEST_F(OutlierDetectorTest, EjectionGrowsWithRepeatsAndCalmIntervalsForgive) {
  OutlierConfig config;
  config.consecutive_5xx = 1;
  config.base_ejection = milliseconds(1000);
  config.max_ejection = milliseconds(2500);
  config.interval = milliseconds(10'000);
  config.max_ejection_percent = 50;
  OutlierDetector detector(config, set_, start_);
  detector.report(host(0), k500, start_);
  EXPECT_TRUE(out(0));
  detector.tick(start_ + milliseconds(999));
  EXPECT_TRUE(out(0));
  detector.tick(start_ + milliseconds(1000));
  EXPECT_FALSE(out(0));
  // Second ejection: twice as long; third: capped at max_ejection.
  detector.report(host(0), k500, start_ + milliseconds(1000));
  detector.tick(start_ + milliseconds(2999));
  EXPECT_TRUE(out(0));
  detector.tick(start_ + milliseconds(3000));
  EXPECT_FALSE(out(0));
  detector.report(host(0), k500, start_ + milliseconds(3000));
  EXPECT_EQ(detector.timesEjected(host(0)), 3u);
  detector.tick(start_ + milliseconds(5499));
  EXPECT_TRUE(out(0));
  detector.tick(start_ + milliseconds(5500));
  EXPECT_FALSE(out(0));
  // Each review interval in the pool forgives one ejection.
  detector.tick(start_ + milliseconds(10'000));
  EXPECT_EQ(detector.timesEjected(host(0)), 2u);
  detector.tick(start_ + milliseconds(20'000));
  detector.tick(start_ + milliseconds(30'000));
  EXPECT_EQ(detector.timesEjected(host(0)), 0u);
}

TEST_F(OutlierDetectorTest, MaxEjectionPercentKeepsEnoughHosts) {
  OutlierConfig config;
  config.consecutive_5xx = 1;
  config.max_ejection_percent = 10;  // of 4 hosts: 0, but one may always go
  OutlierDetector detector(config, set_, start_);
  for (size_t i = 0; i < 4; ++i) {
    detector.report(host(i), k500, start_);
  }
  EXPECT_EQ(detector.ejectedCount(), 1u);
  EXPECT_TRUE(out(0));
  EXPECT_FALSE(out(1));
}

TEST_F(OutlierDetectorTest, SuccessRateEjectsTheHostFarBelowTheOthers) {
  OutlierConfig config;
  config.consecutive_5xx = 0;
  config.max_ejection_percent = 50;
  config.interval = milliseconds(1000);
  config.success_rate = OutlierConfig::SuccessRate{3, 50, 1.0};
  OutlierDetector detector(config, set_, start_);
  for (int i = 0; i < 100; ++i) {
    detector.report(host(0), kOk, start_);
    detector.report(host(1), kOk, start_);
    detector.report(host(2), i % 50 == 0 ? k500 : kOk, start_);  // 98 %
    detector.report(host(3), i % 2 == 0 ? k500 : kOk, start_);   // 50 %
  }
  EXPECT_EQ(detector.ejectedCount(), 0u);  // nothing before the interval's review
  detector.tick(start_ + milliseconds(1000));
  EXPECT_TRUE(out(3));
  EXPECT_FALSE(out(2));
  EXPECT_EQ(detector.ejectedCount(), 1u);
}

TEST_F(OutlierDetectorTest, AConfigUpdateKeepsEjectionsOfTheEndpointsStillThere) {
  OutlierConfig config;
  config.consecutive_5xx = 2;
  config.max_ejection_percent = 50;
  OutlierDetector before(config, set_, start_);
  before.report(host(1), k500, start_);
  before.report(host(1), k500, start_);  // ejected until start_ + 30 s
  before.report(host(2), k500, start_);  // one failure short
  ASSERT_TRUE(out(1));

  // The new config drops the first endpoint (port 1000) and adds one (port 1004): hosts move
  // to other indexes, and are matched by address.
  lb::ClusterLbConfig next = hostsConfig(5);
  next.localities[0].endpoints.erase(next.localities[0].endpoints.begin());
  lb::PrioritySet after_set(next);
  OutlierDetector after(config, after_set, start_ + milliseconds(10));
  after.adopt(before);
  const auto ejected = [&](size_t i) {
    return after_set.hosts()[i].hasFlag(lb::HostFlag::kOutlierEjected);
  };
  EXPECT_TRUE(ejected(0));  // port 1001, still ejected
  EXPECT_EQ(after.ejectedCount(), 1u);
  EXPECT_EQ(after.timesEjected(after_set.hosts()[0]), 1u);
  EXPECT_FALSE(ejected(1));
  // Port 1002 kept its one failure: one more ejects it.
  after.report(after_set.hosts()[1], k500, start_ + milliseconds(20));
  EXPECT_TRUE(ejected(1));
  EXPECT_FALSE(ejected(3));  // the new endpoint starts clean
  // The carried ejection ends when it would have.
  after.tick(start_ + std::chrono::seconds(31));
  EXPECT_FALSE(ejected(0));
}

TEST_F(OutlierDetectorTest, ACarriedEjectionStaysWithinMaxEjectionPercent) {
  OutlierConfig config;
  config.consecutive_5xx = 1;
  config.max_ejection_percent = 50;
  OutlierDetector before(config, set_, start_);
  before.report(host(0), k500, start_);
  before.report(host(1), k500, start_);
  ASSERT_EQ(before.ejectedCount(), 2u);  // two of four
  // The cluster shrinks to those two, each listed twice: half of two hosts is one.
  lb::ClusterLbConfig next = hostsConfig(2);
  next.localities[0].endpoints.push_back(next.localities[0].endpoints[0]);
  next.localities[0].endpoints.push_back(next.localities[0].endpoints[1]);
  lb::PrioritySet after_set(next);
  OutlierDetector after(config, after_set, start_);
  after.adopt(before);
  EXPECT_EQ(after.ejectedCount(), 2u);  // of four entries: the duplicates start clean
  EXPECT_TRUE(after_set.hosts()[0].hasFlag(lb::HostFlag::kOutlierEjected));
  EXPECT_TRUE(after_set.hosts()[1].hasFlag(lb::HostFlag::kOutlierEjected));
  EXPECT_FALSE(after_set.hosts()[2].hasFlag(lb::HostFlag::kOutlierEjected));
  EXPECT_FALSE(after_set.hosts()[3].hasFlag(lb::HostFlag::kOutlierEjected));

  lb::PrioritySet pair_set(hostsConfig(2));
  OutlierDetector pair(config, pair_set, start_);
  pair.adopt(before);
  EXPECT_EQ(pair.ejectedCount(), 1u);  // the second is readmitted
  EXPECT_TRUE(pair_set.hosts()[0].hasFlag(lb::HostFlag::kOutlierEjected));
  EXPECT_FALSE(pair_set.hosts()[1].hasFlag(lb::HostFlag::kOutlierEjected));
}

TEST(CircuitSlotTest, APlaceIsTakenBelowTheLimitAndGivenBack) {
  auto counts = std::make_shared<ClusterCircuitCounts>();
  constexpr auto kRequests = &ClusterCircuitCounts::active_requests;
  CircuitSlot first;
  CircuitSlot second;
  CircuitSlot third;
  EXPECT_TRUE(first.tryTake(counts, kRequests, 2));
  EXPECT_TRUE(second.tryTake(counts, kRequests, 2));
  EXPECT_FALSE(third.tryTake(counts, kRequests, 2));
  EXPECT_EQ(counts->active_requests.load(), 2u);
  second.release();
  EXPECT_TRUE(third.tryTake(counts, kRequests, 2));
  {
    CircuitSlot moved = std::move(first);
    EXPECT_EQ(counts->active_requests.load(), 2u);
  }
  EXPECT_EQ(counts->active_requests.load(), 1u);
}

TEST(CircuitSlotTest, APlaceKeepsItsCountsAliveAfterTheSnapshotsAreGone) {
  CircuitSlot pooled_connection;
  std::weak_ptr<ClusterCircuitCounts> watch;
  {
    auto counts = std::make_shared<ClusterCircuitCounts>();  // the snapshot's reference
    watch = counts;
    ASSERT_TRUE(pooled_connection.tryTake(counts, &ClusterCircuitCounts::open_connections, 10));
  }
  EXPECT_FALSE(watch.expired());  // still there for the connection to give its place back
  pooled_connection.release();
  EXPECT_TRUE(watch.expired());
}

TEST(CircuitSlotTest, CountsAreSharedByClusterName) {
  const auto a = ClusterCircuitCounts::forCluster("shop");
  const auto b = ClusterCircuitCounts::forCluster("shop");
  const auto c = ClusterCircuitCounts::forCluster("cart");
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(a.get(), c.get());
  EXPECT_EQ(circuitOverflowDetail("shop", 1024, "requests in flight", "max_requests"),
            "cluster 'shop' has 1024 requests in flight (circuit breaker max_requests)");
}

}  // namespace
}  // namespace weft::proxy
