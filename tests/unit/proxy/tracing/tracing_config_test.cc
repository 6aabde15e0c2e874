// How the snapshot builder reads Bootstrap.tracing and a chain's Tracing.
#include <gtest/gtest.h>

#include <string>

#include "common/config/yaml_to_proto.h"
#include "proxy/snapshot/snapshot_builder.h"

namespace weft::proxy {
namespace {

std::string bootstrap(const std::string& top, const std::string& chain_tracing) {
  return "node: {id: reviews-1, workload_name: reviews-v1}\n" + top + R"(
static_resources:
  listeners:
    - name: inbound
      direction: INBOUND
      address: {address: 127.0.0.1, port: 10080}
      filter_chains:
        - name: http
          http:
            stat_prefix: inbound
)" + chain_tracing +
         R"(
            route_config:
              name: local
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes:
                    - match: {prefix: /}
                      route: {cluster: app}
  clusters:
    - name: app
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {address: {address: 127.0.0.1, port: 10090}}
    - name: otel
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {address: {address: 127.0.0.1, port: 4318}}
)";
}

SnapshotPtr build(const std::string& text, std::string& first_error) {
  weft::v1::Bootstrap message;
  config::ConfigErrors errors = config::loadYaml(text, "test.yaml", message);
  SnapshotPtr snapshot;
  if (errors.empty()) {
    snapshot = buildSnapshot(message, "test.yaml", errors, 2);
  }
  first_error = errors.empty() ? "" : errors.front().field_path + ": " + errors.front().reason;
  return snapshot;
}

const ChainTracingConfig* chainTracing(const SnapshotPtr& snapshot) {
  return snapshot->findListener("inbound")->chains.front().http->tracing.get();
}

TEST(TracingConfigTest, WithoutTracingTraceHeadersAreLeftAlone) {
  std::string error;
  const SnapshotPtr snapshot = build(bootstrap("", ""), error);
  ASSERT_TRUE(snapshot) << error;
  EXPECT_EQ(chainTracing(snapshot), nullptr);
  EXPECT_EQ(snapshot->span_export, nullptr);
}

TEST(TracingConfigTest, TheBootstrapExporterAndDefaults) {
  std::string error;
  const SnapshotPtr snapshot =
      build(bootstrap("tracing: {exporter: OTLP_HTTP_JSON, collector_cluster: otel}\n", ""), error);
  ASSERT_TRUE(snapshot) << error;
  ASSERT_TRUE(snapshot->span_export);
  EXPECT_EQ(snapshot->span_export->collector_path, "/v1/traces");
  EXPECT_EQ(snapshot->span_export->service_name, "reviews-v1");
  EXPECT_EQ(snapshot->span_export->flush_interval, std::chrono::milliseconds(1000));
  EXPECT_EQ(snapshot->span_export->max_batch, 512U);
  const ChainTracingConfig* chain = chainTracing(snapshot);
  ASSERT_NE(chain, nullptr);
  EXPECT_EQ(chain->formats, kTraceW3c | kTraceB3);
  EXPECT_EQ(chain->sample_threshold, static_cast<uint64_t>(0.01 * 4294967296.0));
  EXPECT_TRUE(chain->server_spans);  // an inbound listener
  EXPECT_TRUE(chain->export_spans);
}

TEST(TracingConfigTest, AChainsOwnSettingsWin) {
  std::string error;
  const SnapshotPtr snapshot =
      build(bootstrap("tracing: {exporter: ZIPKIN_V2_JSON, collector_cluster: otel, "
                      "default_sampling_percentage: 5}\n",
                      "            tracing: {random_sampling_percentage: 50, propagation: [B3], "
                      "tags: {mesh: prod}}"),
            error);
  ASSERT_TRUE(snapshot) << error;
  EXPECT_EQ(snapshot->span_export->collector_path, "/api/v2/spans");
  const ChainTracingConfig* chain = chainTracing(snapshot);
  EXPECT_EQ(chain->formats, kTraceB3);
  EXPECT_EQ(chain->sample_threshold, uint64_t{1} << 31);
  ASSERT_EQ(chain->tags.size(), 1U);
  EXPECT_EQ(chain->tags[0].first, "mesh");
}

TEST(TracingConfigTest, PropagationOnlyWithoutAnExporter) {
  std::string error;
  const SnapshotPtr snapshot = build(bootstrap("tracing: {}\n", ""), error);
  ASSERT_TRUE(snapshot) << error;
  EXPECT_EQ(snapshot->span_export, nullptr);
  ASSERT_NE(chainTracing(snapshot), nullptr);
  EXPECT_FALSE(chainTracing(snapshot)->export_spans);
}

TEST(TracingConfigTest, TheCollectorClusterMustExist) {
  std::string error;
  EXPECT_FALSE(build(
      bootstrap("tracing: {exporter: OTLP_HTTP_JSON, collector_cluster: nope}\n", ""), error));
  EXPECT_EQ(error, "tracing.collector_cluster: no cluster named \"nope\" in static_resources");
  EXPECT_FALSE(build(bootstrap("tracing: {exporter: OTLP_HTTP_JSON}\n", ""), error));
  EXPECT_EQ(error, "tracing.collector_cluster: required with an exporter");
}

}  // namespace
}  // namespace weft::proxy
