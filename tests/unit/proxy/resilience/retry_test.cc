// The retry logic without I/O: which failures each condition retries, the
// order of the checks after a failure, the budget's arithmetic, the backoff's
// bounds and the reset headers' formats; and the policy as the snapshot
// builder compiles it from YAML.
#include <gtest/gtest.h>

#include <boost/beast/http/fields.hpp>

#include "common/config/yaml_to_proto.h"
#include "proxy/http1/beast_header_lookup.h"
#include "proxy/snapshot/snapshot_builder.h"
#include "proxy/upstream/resilience/retry_backoff.h"
#include "proxy/upstream/resilience/retry_budget.h"
#include "proxy/upstream/resilience/retry_policy.h"
#include "proxy/upstream/resilience/retry_state.h"
#include "proxy/upstream/upstream_retry.h"

namespace weft::proxy {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

AttemptResult failed(AttemptFailure failure) {
  return {failure, 0, -1};
}
AttemptResult answered(unsigned status, int grpc_status = -1) {
  return {AttemptFailure::kNone, status, grpc_status};
}

RetryPolicyConfig policyFor(std::initializer_list<RetryCondition> conditions) {
  RetryPolicyConfig policy;
  for (RetryCondition condition : conditions) {
    policy.retry_on |= static_cast<uint32_t>(condition);
  }
  return policy;
}

bool retries(const RetryPolicyConfig& policy, const AttemptResult& result) {
  std::string scratch;
  return policy.retriable(result, nullptr, scratch);
}

TEST(RetryPolicyTest, EachConditionCoversItsFailures) {
  const auto connect = policyFor({RetryCondition::kConnectFailure});
  EXPECT_TRUE(retries(connect, failed(AttemptFailure::kConnectFailure)));
  EXPECT_FALSE(retries(connect, failed(AttemptFailure::kReset)));
  EXPECT_FALSE(retries(connect, answered(503)));

  const auto reset = policyFor({RetryCondition::kReset});
  EXPECT_TRUE(retries(reset, failed(AttemptFailure::kReset)));
  EXPECT_TRUE(retries(reset, failed(AttemptFailure::kPerTryTimeout)));
  EXPECT_FALSE(retries(reset, failed(AttemptFailure::kConnectFailure)));

  const auto gateway = policyFor({RetryCondition::kGatewayError});
  EXPECT_TRUE(retries(gateway, answered(502)));
  EXPECT_TRUE(retries(gateway, answered(504)));
  EXPECT_FALSE(retries(gateway, answered(500)));
  EXPECT_TRUE(retries(gateway, failed(AttemptFailure::kConnectFailure)));
  EXPECT_FALSE(retries(gateway, failed(AttemptFailure::kRefusedStream)));

  const auto any5xx = policyFor({RetryCondition::k5xx});
  EXPECT_TRUE(retries(any5xx, answered(500)));
  EXPECT_TRUE(retries(any5xx, failed(AttemptFailure::kRefusedStream)));
  EXPECT_FALSE(retries(any5xx, answered(429)));

  auto codes = policyFor({RetryCondition::kRetriableStatusCodes});
  codes.retriable_status_codes = {429};
  EXPECT_TRUE(retries(codes, answered(429)));
  EXPECT_FALSE(retries(codes, answered(503)));

  EXPECT_TRUE(retries(policyFor({RetryCondition::kRetriable4xx}), answered(409)));
  EXPECT_TRUE(retries(policyFor({RetryCondition::kGrpcUnavailable}), answered(200, 14)));
  EXPECT_FALSE(retries(policyFor({RetryCondition::kGrpcUnavailable}), answered(200, 13)));
}

TEST(RetryPolicyTest, TheProxysOwnRefusalsAndTheDeadlineAreNeverRetried) {
  const auto everything = policyFor({RetryCondition::k5xx, RetryCondition::kGatewayError,
                                     RetryCondition::kReset, RetryCondition::kConnectFailure});
  EXPECT_FALSE(retries(everything, failed(AttemptFailure::kOverflow)));
  EXPECT_FALSE(retries(everything, failed(AttemptFailure::kRouteTimeout)));
  EXPECT_FALSE(retries(RetryPolicyConfig{}, answered(503)));
}

TEST(RetryPolicyTest, RetriableHeadersMatchTheResponse) {
  auto policy = policyFor({RetryCondition::kRetriableHeaders});
  HeaderMatchConfig header;
  header.name = "x-upstream-busy";
  header.value.kind = ValueMatcher::Kind::kExact;
  header.value.text = "yes";
  policy.retriable_headers.push_back(std::move(header));
  boost::beast::http::fields fields;
  fields.set("x-upstream-busy", "yes");
  const BeastHeaderLookup lookup(fields);
  const RequestView view{{}, {}, {}, {}, &lookup, {}};
  std::string scratch;
  EXPECT_TRUE(policy.retriable(answered(200), &view, scratch));
  fields.set("x-upstream-busy", "no");
  EXPECT_FALSE(policy.retriable(answered(200), &view, scratch));
}

TEST(RetryPolicyTest, RetriableHeadersCanMatchTheStatus) {
  // An HTTP/1.1 response has no ":status" field: the match reads the attempt's status.
  auto policy = policyFor({RetryCondition::kRetriableHeaders});
  HeaderMatchConfig header;
  header.name = ":status";
  header.value.kind = ValueMatcher::Kind::kExact;
  header.value.text = "429";
  policy.retriable_headers.push_back(std::move(header));
  boost::beast::http::fields fields;
  const BeastHeaderLookup lookup(fields);
  const RequestView view{{}, {}, {}, {}, &lookup, {}};
  std::string scratch;
  EXPECT_TRUE(policy.retriable(answered(429), &view, scratch));
  EXPECT_FALSE(policy.retriable(answered(200), &view, scratch));
}

TEST(RetryBudgetTest, AllowsThePercentOfRequestsPlusTheRatePerSecond) {
  const auto start = Clock::now();
  // One worker of one: 20 % and 10 a second; the bucket starts with one second's worth.
  RetryBudget budget({20, 10}, 1, start);
  int granted = 0;
  for (int i = 0; i < 1000; ++i) {
    budget.deposit();
    granted += budget.withdraw(start) ? 1 : 0;
  }
  EXPECT_EQ(granted, 10 + 200);
  EXPECT_FALSE(budget.withdraw(start));
  // Half a second adds five.
  granted = 0;
  while (budget.withdraw(start + milliseconds(500))) {
    ++granted;
  }
  EXPECT_EQ(granted, 5);
}

TEST(RetryBudgetTest, WorkersShareTheRateAndAnIdleBucketStopsFilling) {
  const auto start = Clock::now();
  RetryBudget budget({20, 10}, 2, start);  // this worker's share: 5 a second
  EXPECT_DOUBLE_EQ(budget.balance(), 5);
  EXPECT_DOUBLE_EQ(budget.capacity(), 50);
  int granted = 0;
  while (budget.withdraw(start + std::chrono::hours(1))) {
    ++granted;
  }
  EXPECT_EQ(granted, 50);  // an hour of calm banks ten seconds' worth, no more
}

TEST(RetryBudgetTest, AConfigUpdateContinuesTheBudgetInsteadOfRefillingIt) {
  const auto start = Clock::now();
  RetryBudget before({20, 10}, 1, start);
  while (before.withdraw(start)) {
  }
  // The same cluster in the next config, made a second later: on its own it would start
  // with a second's worth of tokens.
  RetryBudget after({20, 10}, 1, start + std::chrono::seconds(1));
  EXPECT_DOUBLE_EQ(after.balance(), 10);
  after.adopt(before);
  EXPECT_DOUBLE_EQ(after.balance(), 0);
  // Time goes on from the old budget's last refill: half a second adds five.
  int granted = 0;
  while (after.withdraw(start + milliseconds(500))) {
    ++granted;
  }
  EXPECT_EQ(granted, 5);
}

TEST(RetryBackoffTest, FullJitterWithinTheDoublingCeiling) {
  EXPECT_EQ(retryBackoff(1, milliseconds(25), milliseconds(250), 0), milliseconds(0));
  EXPECT_EQ(retryBackoff(1, milliseconds(25), milliseconds(250), 25), milliseconds(25));
  EXPECT_EQ(retryBackoff(1, milliseconds(25), milliseconds(250), 26), milliseconds(0));
  EXPECT_EQ(retryBackoff(3, milliseconds(25), milliseconds(250), 100), milliseconds(100));
  EXPECT_EQ(retryBackoff(3, milliseconds(25), milliseconds(250), 101), milliseconds(0));
  // Capped at max, however many retries.
  for (uint64_t random : {0ULL, 99ULL, 250ULL, 12345678901ULL}) {
    EXPECT_LE(retryBackoff(30, milliseconds(25), milliseconds(250), random), milliseconds(250));
  }
}

TEST(RetryBackoffTest, ResetHeadersInEveryFormat) {
  const int64_t now = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(resetHeaderWait("120", false, now), milliseconds(120'000));
  EXPECT_EQ(resetHeaderWait(" 0.25 ", false, now), milliseconds(250));
  EXPECT_EQ(resetHeaderWait("Sun, 06 Nov 1994 08:50:07 GMT", false, now), milliseconds(30'000));
  EXPECT_EQ(resetHeaderWait("Sun, 06 Nov 1994 08:49:00 GMT", false, now), milliseconds(0));
  EXPECT_EQ(resetHeaderWait("784111787", true, now), milliseconds(10'000));
  EXPECT_EQ(resetHeaderWait("soon", false, now), std::nullopt);
  EXPECT_EQ(resetHeaderWait("Sun, 06 Nov 1994 08:49:37 UTC", false, now), std::nullopt);
  EXPECT_EQ(resetHeaderWait("-5", false, now), std::nullopt);
}

class RetryStateTest : public ::testing::Test {
 protected:
  RetryDecision fail(RetryState& state, const AttemptResult& result, bool replayable = true,
                     const RequestView* response = nullptr) {
    return state.afterFailure(result, response, replayable, start_, 0, 0);
  }

  Clock::time_point start_ = Clock::now();
  RetryBudget budget_{{100, 0}, 1, start_};
};

TEST_F(RetryStateTest, RetriesUntilTheNumberIsSpent) {
  auto policy = policyFor({RetryCondition::kGatewayError});
  policy.num_retries = 2;
  for (int i = 0; i < 10; ++i) {
    budget_.deposit();
  }
  RetryState state(policy, budget_, start_ + std::chrono::seconds(10));
  EXPECT_TRUE(fail(state, answered(503)).retry);
  EXPECT_TRUE(fail(state, answered(503)).retry);
  const RetryDecision third = fail(state, answered(503));
  EXPECT_FALSE(third.retry);
  EXPECT_EQ(third.refused, "no retries left");
  EXPECT_EQ(state.attempts(), 3u);
  // A failure that is not a condition is simply not retried.
  RetryState other(policy, budget_, start_ + std::chrono::seconds(10));
  const RetryDecision not_a_condition = fail(other, answered(500));
  EXPECT_FALSE(not_a_condition.retry);
  EXPECT_TRUE(not_a_condition.refused.empty());
}

TEST_F(RetryStateTest, TheBudgetIsAskedLastAndOnlyForARealRetry) {
  auto policy = policyFor({RetryCondition::kGatewayError});
  policy.num_retries = 5;
  budget_.deposit();  // exactly one token
  RetryState state(policy, budget_, start_ + std::chrono::seconds(10));
  // Not replayable: refused before the budget is touched.
  EXPECT_EQ(fail(state, answered(503), false).refused,
            "the request body was too large to keep for a retry");
  EXPECT_TRUE(fail(state, answered(503)).retry);
  EXPECT_EQ(fail(state, answered(503)).refused, "the cluster's retry budget is spent");
}

TEST_F(RetryStateTest, ARetryNotSentGivesItsTokenBack) {
  auto policy = policyFor({RetryCondition::kGatewayError});
  policy.num_retries = 5;
  budget_.deposit();  // exactly one token
  RetryState state(policy, budget_, start_ + std::chrono::seconds(10));
  EXPECT_TRUE(fail(state, answered(503)).retry);
  state.retryNotSent();  // the client left during the backoff
  EXPECT_TRUE(fail(state, answered(503)).retry);
  EXPECT_EQ(fail(state, answered(503)).refused, "the cluster's retry budget is spent");
}

TEST_F(RetryStateTest, AResetHeaderReplacesTheBackoffWithinLimits) {
  auto policy = policyFor({RetryCondition::kGatewayError});
  policy.num_retries = 3;
  policy.reset_headers.push_back({"retry-after", false});
  policy.max_reset_interval = milliseconds(5000);
  for (int i = 0; i < 10; ++i) {
    budget_.deposit();
  }
  boost::beast::http::fields fields;
  fields.set("retry-after", "2");
  const BeastHeaderLookup lookup(fields);
  const RequestView view{{}, {}, {}, {}, &lookup, {}};
  RetryState state(policy, budget_, start_ + std::chrono::seconds(10));
  const RetryDecision asked = fail(state, answered(503), true, &view);
  EXPECT_TRUE(asked.retry);
  EXPECT_EQ(asked.wait, milliseconds(2000));
  fields.set("retry-after", "60");
  EXPECT_EQ(fail(state, answered(503), true, &view).refused,
            "the upstream asked for a wait longer than max_reset_interval");
  // A wait past the route deadline is not attempted either.
  RetryState late(policy, budget_, start_ + milliseconds(1500));
  fields.set("retry-after", "2");
  EXPECT_EQ(fail(late, answered(503), true, &view).refused,
            "the route timeout leaves no time for a retry");
}

TEST_F(RetryStateTest, RemembersTriedHostsOnlyWhenAskedToAvoidThem) {
  auto policy = policyFor({RetryCondition::kReset});
  RetryState state(policy, budget_, start_);
  const auto* first = reinterpret_cast<const lb::Host*>(0x10);
  state.tried(first);
  ASSERT_EQ(state.triedHosts().size(), 1u);
  EXPECT_EQ(state.triedHosts()[0], first);
  policy.avoid_previous_hosts = false;
  EXPECT_TRUE(state.triedHosts().empty());
}

SnapshotPtr build(const std::string& routes, config::ConfigErrors& errors) {
  const std::string text = R"(node: {id: test}
static_resources:
  listeners:
    - name: main
      address: {address: 127.0.0.1, port: 1}
      filter_chains:
        - name: http
          http:
            stat_prefix: test
            route_config:
              name: routes
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  retry_policy: {retry_on: [CONNECT_FAILURE], num_retries: 2}
                  routes:
)" + routes + R"(  clusters:
    - name: shop
      circuit_breakers: {thresholds: [{retry_budget: {budget_percent: 50, min_retries_per_second: 3}}]}
      load_assignment: {endpoints: [{lb_endpoints: [{endpoint: {address: {address: 127.0.0.1, port: 2}}}]}]}
)";
  weft::v1::Bootstrap bootstrap;
  errors = config::loadYaml(text, "test.yaml", bootstrap);
  if (!errors.empty()) {
    return nullptr;
  }
  return buildSnapshot(bootstrap, "test.yaml", errors, 1);
}

TEST(RetrySnapshotTest, RoutesInheritTheVirtualHostsPolicyOrReplaceIt) {
  config::ConfigErrors errors;
  const SnapshotPtr snapshot = build(R"(                    - match: {prefix: /own}
                      route:
                        cluster: shop
                        retry_policy:
                          retry_on: [HTTP_5XX, RETRIABLE_STATUS_CODES]
                          retriable_status_codes: [429]
                          per_try_timeout: 0.5s
                          backoff: {base_interval: 0.01s}
                          reset_headers: [{name: Retry-After}]
                    - match: {prefix: /off}
                      route: {cluster: shop, retry_policy: {}}
                    - match: {prefix: /}
                      route: {cluster: shop}
)",
                                     errors);
  ASSERT_NE(snapshot, nullptr) << config::formatErrors(errors);
  const auto& routes = snapshot->route_tables.begin()->second->virtual_hosts[0].routes;
  ASSERT_EQ(routes.size(), 3u);
  const RetryPolicyConfig& own = *routes[0].retry_policy;
  EXPECT_TRUE(own.has(RetryCondition::k5xx));
  EXPECT_TRUE(own.has(RetryCondition::kRetriableStatusCodes));
  EXPECT_FALSE(own.has(RetryCondition::kConnectFailure));
  EXPECT_EQ(own.num_retries, 1u);
  EXPECT_EQ(own.per_try_timeout, milliseconds(500));
  EXPECT_EQ(own.backoff_base, milliseconds(10));
  EXPECT_EQ(own.backoff_max, milliseconds(100));
  ASSERT_EQ(own.reset_headers.size(), 1u);
  EXPECT_EQ(own.reset_headers[0].name, "retry-after");
  EXPECT_EQ(routes[1].retry_policy, nullptr);
  ASSERT_NE(routes[2].retry_policy, nullptr);
  EXPECT_TRUE(routes[2].retry_policy->has(RetryCondition::kConnectFailure));
  EXPECT_EQ(routes[2].retry_policy->num_retries, 2u);
  const ClusterConfig& shop = *snapshot->clusters.at("shop");
  EXPECT_DOUBLE_EQ(shop.retry_budget.percent, 50);
  EXPECT_DOUBLE_EQ(shop.retry_budget.min_per_second, 3);
}

// A cluster of two endpoints, the second with `second_health`; panic mode off, so an unhealthy
// endpoint really takes no traffic.
SnapshotPtr buildPair(const std::string& second_health, config::ConfigErrors& errors) {
  const std::string text = R"(node: {id: test}
static_resources:
  clusters:
    - name: shop
      healthy_panic_threshold: 0
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {address: {address: 127.0.0.1, port: 2}}
              - endpoint: {address: {address: 127.0.0.2, port: 2}}
                health_status: )" +
                           second_health + "\n";
  weft::v1::Bootstrap bootstrap;
  errors = config::loadYaml(text, "test.yaml", bootstrap);
  if (!errors.empty()) {
    return nullptr;
  }
  return buildSnapshot(bootstrap, "test.yaml", errors, 1);
}

TEST(UpstreamRetryTest, ARetryGoesToAnotherHostAndSpendsOneToken) {
  config::ConfigErrors errors;
  const SnapshotPtr snapshot = buildPair("HEALTHY", errors);
  ASSERT_NE(snapshot, nullptr) << config::formatErrors(errors);
  const ClusterConfig& shop = *snapshot->clusters.at("shop");
  lb::Host& first = shop.workerState(0).hosts->hosts()[0];
  RetryBudget& budget = *shop.workerState(0).retry_budget;
  const double before = budget.balance();
  auto policy = policyFor({RetryCondition::kGatewayError});
  policy.avoid_previous_hosts = true;
  ActiveRequest active(&first);
  RequestReplay replay;
  // A clock before the budget's creation: it gains no tokens by time while the test runs.
  const Clock::time_point start{};
  UpstreamRetry retry(policy, shop, 0, &first, std::nullopt, active, replay,
                      start + std::chrono::seconds(10));
  const RetryDecision decision = retry.decide(answered(503), nullptr, start);
  ASSERT_TRUE(decision.retry) << decision.refused;
  EXPECT_NE(retry.target().host, &first);
  EXPECT_EQ(retry.target().upstream.address().to_string(), "127.0.0.2");
  EXPECT_DOUBLE_EQ(budget.balance(), before - 1);
  EXPECT_EQ(retry.note({}), " (2 attempts)");
}

TEST(UpstreamRetryTest, ANewSnapshotOfTheClusterSpendsFromTheSameBudget) {
  config::ConfigErrors errors;
  const SnapshotPtr first = buildPair("HEALTHY", errors);
  const SnapshotPtr second = buildPair("HEALTHY", errors);
  ASSERT_NE(second, nullptr) << config::formatErrors(errors);
  const ClusterConfig& before = *first->clusters.at("shop");
  const ClusterConfig& after = *second->clusters.at("shop");
  RetryBudget& budget = *before.workerState(0).retry_budget;
  while (budget.withdraw(Clock::time_point{})) {
  }
  after.adoptWorkerState(before, 0);
  // Requests still holding the first snapshot and new ones draw on one bucket.
  EXPECT_EQ(after.workerState(0).retry_budget.get(), &budget);
  EXPECT_FALSE(after.workerState(0).retry_budget->withdraw(Clock::time_point{}));
}

TEST(UpstreamRetryTest, ARetryWithNowhereToGoSpendsNoToken) {
  config::ConfigErrors errors;
  const SnapshotPtr snapshot = buildPair("UNHEALTHY", errors);
  ASSERT_NE(snapshot, nullptr) << config::formatErrors(errors);
  const ClusterConfig& shop = *snapshot->clusters.at("shop");
  lb::Host& first = shop.workerState(0).hosts->hosts()[0];
  // The first host just failed and is ejected: the other one is unhealthy.
  shop.workerState(0).hosts->setFlag(first, lb::HostFlag::kOutlierEjected, true);
  RetryBudget& budget = *shop.workerState(0).retry_budget;
  const double before = budget.balance();
  auto policy = policyFor({RetryCondition::kGatewayError});
  policy.num_retries = 3;
  ActiveRequest active(&first);
  RequestReplay replay;
  // A clock before the budget's creation: it gains no tokens by time while the test runs.
  const Clock::time_point start{};
  UpstreamRetry retry(policy, shop, 0, &first, std::nullopt, active, replay,
                      start + std::chrono::seconds(10));
  for (int i = 0; i < 20; ++i) {
    const RetryDecision decision = retry.decide(answered(503), nullptr, start);
    EXPECT_FALSE(decision.retry);
    EXPECT_EQ(decision.refused, "no host of the cluster can take the retry");
  }
  EXPECT_DOUBLE_EQ(budget.balance(), before);
  EXPECT_EQ(retry.note("no host of the cluster can take the retry"),
            " (1 attempt; not retried: no host of the cluster can take the retry)");
}

TEST(RetrySnapshotTest, ABackoffCapBelowItsBaseIsRefusedWithItsField) {
  config::ConfigErrors errors;
  const SnapshotPtr snapshot = build(R"(                    - match: {prefix: /}
                      route:
                        cluster: shop
                        retry_policy:
                          retry_on: [RESET]
                          backoff: {base_interval: 1s, max_interval: 0.1s}
)",
                                     errors);
  EXPECT_EQ(snapshot, nullptr);
  EXPECT_NE(config::formatErrors(errors).find("retry_policy.backoff.max_interval"),
            std::string::npos)
      << config::formatErrors(errors);
}

}  // namespace
}  // namespace weft::proxy
