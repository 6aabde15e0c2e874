// Active health checking's logic: the verdict an endpoint's probe results add up to, the
// verdicts workers copy into their hosts, the probe request, and the snapshot's reading of
// Cluster.health_check (defaults, and clear errors for what it refuses).
#include <gtest/gtest.h>

#include "common/config/yaml_to_proto.h"
#include "proxy/snapshot/snapshot_builder.h"
#include "proxy/upstream/health/active_health_verdicts.h"
#include "proxy/upstream/health/health_check_config.h"
#include "proxy/upstream/health/health_probe.h"
#include "proxy/upstream/health/http2_health_probe.h"

namespace weft::proxy {
namespace {

using Change = EndpointHealthState::Change;

HealthCheckConfig thresholds(uint32_t unhealthy, uint32_t healthy) {
  HealthCheckConfig config;
  config.unhealthy_threshold = unhealthy;
  config.healthy_threshold = healthy;
  return config;
}

TEST(EndpointHealthStateTest, ANewEndpointIsUnhealthyUntilItsFirstSuccess) {
  const HealthCheckConfig config = thresholds(3, 2);
  EndpointHealthState state;
  EXPECT_FALSE(state.healthy());
  EXPECT_FALSE(state.probed());
  EXPECT_EQ(state.record(false, config), Change::kNone);
  EXPECT_EQ(state.record(false, config), Change::kNone);
  EXPECT_FALSE(state.healthy());
  EXPECT_TRUE(state.probed());
  // After failures, the threshold applies: one success is not enough.
  EXPECT_EQ(state.record(true, config), Change::kNone);
  EXPECT_EQ(state.record(true, config), Change::kBecameHealthy);
  EXPECT_TRUE(state.healthy());
}

TEST(EndpointHealthStateTest, TheFirstProbeSucceedingAdmitsAtOnce) {
  const HealthCheckConfig config = thresholds(3, 5);
  EndpointHealthState state;
  EXPECT_EQ(state.record(true, config), Change::kBecameHealthy);
  EXPECT_TRUE(state.healthy());
}

TEST(EndpointHealthStateTest, ItTakesTheThresholdInARowToChange) {
  const HealthCheckConfig config = thresholds(3, 2);
  EndpointHealthState state;
  state.record(true, config);
  // Two failures, a success: the count starts again.
  EXPECT_EQ(state.record(false, config), Change::kNone);
  EXPECT_EQ(state.record(false, config), Change::kNone);
  EXPECT_EQ(state.record(true, config), Change::kNone);
  EXPECT_EQ(state.record(false, config), Change::kNone);
  EXPECT_EQ(state.record(false, config), Change::kNone);
  EXPECT_TRUE(state.healthy());
  EXPECT_EQ(state.record(false, config), Change::kBecameUnhealthy);
  EXPECT_EQ(state.consecutiveFailures(), 3u);
  EXPECT_FALSE(state.healthy());
  // More failures change nothing more.
  EXPECT_EQ(state.record(false, config), Change::kNone);
  // Success, failure, success, success: only the last two in a row count.
  EXPECT_EQ(state.record(true, config), Change::kNone);
  EXPECT_EQ(state.record(false, config), Change::kNone);
  EXPECT_EQ(state.record(true, config), Change::kNone);
  EXPECT_EQ(state.record(true, config), Change::kBecameHealthy);
  EXPECT_EQ(state.consecutiveSuccesses(), 2u);
}

TEST(ActiveHealthVerdictsTest, StartFailedAndMoveTheGenerationOnlyOnAChange) {
  ActiveHealthVerdicts verdicts(3);
  ASSERT_EQ(verdicts.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(verdicts.failed(i));
  }
  const uint64_t start = verdicts.generation();
  verdicts.set(1, true);  // no change
  EXPECT_EQ(verdicts.generation(), start);
  verdicts.set(1, false);
  EXPECT_FALSE(verdicts.failed(1));
  EXPECT_EQ(verdicts.generation(), start + 1);
  verdicts.set(7, false);  // out of range: ignored
  EXPECT_EQ(verdicts.generation(), start + 1);
}

TEST(HealthProbeTest, TheRequestIsAGetOnAConnectionUsedOnce) {
  HealthCheckConfig config;
  config.probe = HealthCheckConfig::Probe::kHttp;
  config.path = "/healthz?deep=1";
  config.host = "payments.shop.svc";
  config.request_headers = {{"x-probe", "weft"}};
  EXPECT_EQ(healthCheckRequest(config),
            "GET /healthz?deep=1 HTTP/1.1\r\nHost: payments.shop.svc\r\n"
            "User-Agent: weft-health-check\r\nConnection: close\r\nx-probe: weft\r\n\r\n");
  config.user_agent = "kube-probe/1.29";  // a request_headers entry replaces it
  EXPECT_NE(healthCheckRequest(config).find("\r\nUser-Agent: kube-probe/1.29\r\n"),
            std::string::npos);
}

TEST(HealthProbeTest, ExpectedStatusesDefaultTo2xxAnd3xx) {
  HealthCheckConfig config;
  EXPECT_FALSE(config.expectedStatus(199));
  EXPECT_TRUE(config.expectedStatus(200));
  EXPECT_TRUE(config.expectedStatus(399));
  EXPECT_FALSE(config.expectedStatus(400));
  EXPECT_FALSE(config.expectedStatus(503));
  config.expected_statuses = {{200, 201}, {429, 430}};
  EXPECT_TRUE(config.expectedStatus(200));
  EXPECT_FALSE(config.expectedStatus(204));
  EXPECT_TRUE(config.expectedStatus(429));
}

TEST(HealthProbeTest, TheGrpcRequestNamesTheService) {
  using namespace std::string_literals;
  EXPECT_EQ(grpcHealthCheckRequest(""), "\0\0\0\0\0"s);
  EXPECT_EQ(grpcHealthCheckRequest("shop.Cart"), "\0\0\0\0\x0b\x0a\x09shop.Cart"s);
  // A name of 200 bytes takes a two-byte length.
  const std::string framed = grpcHealthCheckRequest(std::string(200, 'x'));
  ASSERT_EQ(framed.size(), 5u + 3u + 200u);
  EXPECT_EQ(framed.substr(0, 8), "\0\0\0\0\xcb\x0a\xc8\x01"s);
}

TEST(HealthProbeTest, ReadsTheServingStatusOfAHealthCheckResponse) {
  using namespace std::string_literals;
  EXPECT_EQ(grpcServingStatus("\0\0\0\0\x02\x08\x01"s), 1u);  // SERVING
  EXPECT_EQ(grpcServingStatus("\0\0\0\0\x02\x08\x02"s), 2u);  // NOT_SERVING
  EXPECT_EQ(grpcServingStatus("\0\0\0\0\0"s), 0u);            // UNKNOWN: field absent
  // An unknown length-delimited field is skipped.
  EXPECT_EQ(grpcServingStatus("\0\0\0\0\x05\x12\x01z\x08\x01"s), 1u);
  EXPECT_EQ(grpcServingStatus("\x01\0\0\0\x02\x08\x01"s), std::nullopt);  // compressed
  EXPECT_EQ(grpcServingStatus("\0\0\0\0\x09\x08\x01"s), std::nullopt);    // cut short
  EXPECT_EQ(grpcServingStatus("\0\0\0\0\x01\x08"s), std::nullopt);        // no value
  EXPECT_EQ(grpcServingStatus("\0\0\0\0\x01\x0d"s), std::nullopt);        // fixed32
  EXPECT_EQ(grpcServingStatus(""), std::nullopt);
}

// A snapshot of one cluster, "shop", with two endpoints and `cluster_lines` added.
SnapshotPtr buildWithCheck(const std::string& cluster_lines, config::ConfigErrors& errors);

TEST(HealthCheckSnapshotTest, GrpcAndHttp2ProbesGoOverHttp2) {
  config::ConfigErrors errors;
  SnapshotPtr snapshot = buildWithCheck(
      "      protocol: HTTP2\n"
      "      health_check: {timeout: 1s, interval: 1s, grpc: {service_name: shop.Cart}}",
      errors);
  ASSERT_NE(snapshot, nullptr) << config::formatErrors(errors);
  const HealthCheckConfig& grpc = *snapshot->clusters.at("shop")->health_check;
  EXPECT_EQ(grpc.probe, HealthCheckConfig::Probe::kGrpc);
  EXPECT_EQ(grpc.grpc_service, "shop.Cart");
  EXPECT_EQ(grpc.host, "shop.apps.svc");
  EXPECT_TRUE(grpc.http2);
  snapshot = buildWithCheck(
      "      protocol: HTTP2\n"
      "      health_check: {timeout: 1s, interval: 1s, http: {path: /h, host: probe.local}}",
      errors);
  ASSERT_NE(snapshot, nullptr) << config::formatErrors(errors);
  const HealthCheckConfig& http = *snapshot->clusters.at("shop")->health_check;
  EXPECT_EQ(http.probe, HealthCheckConfig::Probe::kHttp);
  EXPECT_EQ(http.host, "probe.local");
  EXPECT_TRUE(http.http2);
}

SnapshotPtr buildWithCheck(const std::string& cluster_lines, config::ConfigErrors& errors) {
  const std::string text = R"(
node: {id: health-test}
static_resources:
  clusters:
    - name: shop
      destination_service: shop.apps.svc
)" + cluster_lines + R"(
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {address: {address: 127.0.0.1, port: 8080}, health_check_port: 9090}
              - endpoint: {address: {address: 127.0.0.2, port: 8080}}
)";
  weft::v1::Bootstrap bootstrap;
  errors = config::loadYaml(text, "test.yaml", bootstrap);
  if (!errors.empty()) {
    return nullptr;
  }
  return buildSnapshot(bootstrap, "test.yaml", errors, 2);
}

TEST(HealthCheckSnapshotTest, ReadsTheCheckWithItsDefaults) {
  config::ConfigErrors errors;
  const SnapshotPtr snapshot = buildWithCheck(
      "      health_check: {timeout: 0.5s, interval: 2s, interval_jitter: 0.25s, "
      "http: {path: /ready, expected_statuses: [{start: 200, end: 300}], "
      "request_headers: [{name: X-Probe, value: weft}, {name: User-Agent, value: probe/2}]}}",
      errors);
  ASSERT_NE(snapshot, nullptr) << config::formatErrors(errors);
  const ClusterConfig& shop = *snapshot->clusters.at("shop");
  ASSERT_NE(shop.health_check, nullptr);
  const HealthCheckConfig& check = *shop.health_check;
  EXPECT_EQ(check.probe, HealthCheckConfig::Probe::kHttp);
  EXPECT_EQ(check.timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(check.interval, std::chrono::milliseconds(2000));
  EXPECT_EQ(check.interval_jitter, std::chrono::milliseconds(250));
  EXPECT_EQ(check.unhealthy_threshold, 3u);
  EXPECT_EQ(check.healthy_threshold, 2u);
  EXPECT_EQ(check.path, "/ready");
  EXPECT_EQ(check.host, "shop.apps.svc");  // the destination service by default
  ASSERT_EQ(check.request_headers.size(), 1u);
  EXPECT_EQ(check.request_headers[0].first, "x-probe");
  EXPECT_EQ(check.user_agent, "probe/2");
  EXPECT_EQ(shop.health_check_ports, (std::vector<uint16_t>{9090, 0}));
  ASSERT_NE(shop.active_health, nullptr);
  EXPECT_EQ(shop.active_health->size(), 2u);
}

TEST(HealthCheckSnapshotTest, WorkersCopyTheVerdictsIntoTheirHosts) {
  config::ConfigErrors errors;
  const SnapshotPtr snapshot =
      buildWithCheck("      health_check: {timeout: 1s, interval: 1s, tcp: {}}", errors);
  ASSERT_NE(snapshot, nullptr) << config::formatErrors(errors);
  const ClusterConfig& shop = *snapshot->clusters.at("shop");
  const auto failed = [&](uint32_t worker, size_t host) {
    return shop.workerState(worker).hosts->hosts()[host].hasFlag(
        lb::HostFlag::kFailedActiveHealthCheck);
  };
  // Not yet probed: both out.
  EXPECT_TRUE(failed(0, 0));
  EXPECT_TRUE(failed(0, 1));
  shop.active_health->set(1, false);
  EXPECT_TRUE(failed(0, 0));
  EXPECT_FALSE(failed(0, 1));
  // A worker that makes its state later starts from the current verdicts.
  EXPECT_FALSE(failed(1, 1));
  shop.active_health->set(1, true);
  EXPECT_TRUE(failed(0, 1));
  EXPECT_TRUE(failed(1, 1));
}

TEST(HealthCheckSnapshotTest, RefusesWhatItCannotProbeNamingTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"      health_check: {timeout: 1s, interval: 1s, grpc: {authority: \"a\\nb\"}}",
       "health_check.grpc.authority"},
      {"      health_check: {timeout: 1s, interval: 1s, http: {path: /h, host: \"a b\"}}",
       "health_check.http.host"},
      {"      health_check: {timeout: 1s, interval: 1s, http: {path: /h, "
       "expected_statuses: [{start: 300, end: 200}]}}",
       "health_check.http.expected_statuses"},
      {"      health_check: {timeout: 1s, interval: 1s, http: {path: /h, "
       "request_headers: [{name: Host, value: x}]}}",
       "health_check.http.request_headers[0]"},
      {"      health_check: {timeout: 1s, interval: 1s, http: {path: /h, "
       "request_headers: [{name: Keep-Alive, value: x}]}}",
       "health_check.http.request_headers[0]"},
      {"      health_check: {timeout: 1s, interval: 1s, http: {path: /h, "
       "request_headers: [{name: x-ok, value: a}, {name: x-bad, value: \"a\\x01b\"}]}}",
       "health_check.http.request_headers[1].value"},
  };
  for (const auto& [lines, field] : cases) {
    config::ConfigErrors errors;
    const SnapshotPtr snapshot = buildWithCheck(lines, errors);
    EXPECT_EQ(snapshot, nullptr) << lines;
    ASSERT_FALSE(errors.empty()) << lines;
    EXPECT_NE(errors[0].field_path.find(field), std::string::npos)
        << lines << ": " << config::formatErrors(errors);
  }
}

}  // namespace
}  // namespace weft::proxy
