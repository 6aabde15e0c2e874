// ORIGINAL_DST clusters in the snapshot builder: what TCP chains may use them for
// (passthrough), and the errors that name the field when they are misused.
#include <gtest/gtest.h>

#include <string>

#include "common/config/yaml_to_proto.h"
#include "proxy/snapshot/snapshot_builder.h"

namespace weft::proxy {
namespace {

std::string bootstrap(const std::string& tcp_cluster, const std::string& http_cluster,
                      const std::string& passthrough_extra) {
  return R"(node: {id: test}
static_resources:
  listeners:
    - name: outbound
      address: {address: 127.0.0.1, port: 15001}
      transparent: true
      filter_chains:
        - name: web
          match: {destination_ports: [80]}
          http:
            stat_prefix: web
            route_config:
              name: web
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes: [{match: {prefix: /}, route: {cluster: )" +
         http_cluster + R"(}}]
        - name: passthrough
          tcp: {stat_prefix: passthrough, cluster: )" +
         tcp_cluster + R"(}
  clusters:
    - name: backend
      load_assignment:
        endpoints: [{lb_endpoints: [{endpoint: {address: {address: 127.0.0.1, port: 8080}}}]}]
    - name: PassthroughCluster
      type: ORIGINAL_DST
      connect_timeout: 2s
)" + passthrough_extra;
}

SnapshotPtr build(const std::string& text, std::string& first_error) {
  weft::v1::Bootstrap message;
  config::ConfigErrors errors = config::loadYaml(text, "test.yaml", message);
  SnapshotPtr snapshot;
  if (errors.empty()) {
    snapshot = buildSnapshot(message, "test.yaml", errors, 1);
  }
  first_error = errors.empty() ? "" : errors.front().field_path + ": " + errors.front().reason;
  return snapshot;
}

TEST(OriginalDstClusterTest, ATcpChainPassesConnectionsThrough) {
  std::string error;
  const SnapshotPtr snapshot = build(bootstrap("PassthroughCluster", "backend", ""), error);
  ASSERT_TRUE(snapshot) << error;
  const ClusterConfig& passthrough = *snapshot->clusters.at("PassthroughCluster");
  EXPECT_TRUE(passthrough.original_destination);
  EXPECT_EQ(passthrough.connect_timeout, std::chrono::milliseconds(2000));
  EXPECT_FALSE(snapshot->clusters.at("backend")->original_destination);
  const auto& chains = snapshot->findListener("outbound")->chains;
  ASSERT_EQ(chains.size(), 2U);
  ASSERT_TRUE(chains[1].tcp);
}

TEST(OriginalDstClusterTest, EnvoyShapedSettingsAndTheLoopbackOptionAreRead) {
  std::string error;
  const SnapshotPtr snapshot =
      build(bootstrap("PassthroughCluster", "backend",
                      "      protocol: TCP\n"
                      "      original_dst: {cleanup_interval: 5s, connect_to_loopback: true}\n"),
            error);
  ASSERT_TRUE(snapshot) << error;
  EXPECT_TRUE(snapshot->clusters.at("PassthroughCluster")->original_destination_loopback);
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  text.replace(text.find(from), from.size(), to);
  return text;
}

TEST(OriginalDstClusterTest, OnlyWhereItCannotLoopBackIntoTheProxy) {
  std::string error;
  const std::string base = bootstrap("PassthroughCluster", "backend", "");
  // A plain listener: its "original destination" is itself.
  EXPECT_FALSE(build(replaced(base, "transparent: true", "transparent: false"), error));
  EXPECT_NE(error.find("filter_chains[1].tcp.cluster"), std::string::npos) << error;
  EXPECT_NE(error.find("transparent listener"), std::string::npos) << error;
  // Inbound: the pod's own address would be captured straight back; loopback is required.
  const std::string inbound =
      replaced(base, "transparent: true", "transparent: true\n      direction: INBOUND");
  EXPECT_FALSE(build(inbound, error));
  EXPECT_NE(error.find("connect_to_loopback"), std::string::npos) << error;
  EXPECT_TRUE(build(inbound + "      original_dst: {connect_to_loopback: true}\n", error)) << error;
}

TEST(OriginalDstClusterTest, HttpRoutesCannotUseIt) {
  std::string error;
  EXPECT_FALSE(build(bootstrap("PassthroughCluster", "PassthroughCluster", ""), error));
  EXPECT_NE(error.find("route.cluster"), std::string::npos) << error;
  EXPECT_NE(error.find("ORIGINAL_DST"), std::string::npos) << error;
}

TEST(OriginalDstClusterTest, EndpointsAndBalancingSettingsAreRefused) {
  std::string error;
  EXPECT_FALSE(build(bootstrap("PassthroughCluster", "backend",
                               "      load_assignment:\n        endpoints: [{lb_endpoints: "
                               "[{endpoint: {address: {address: 127.0.0.1, port: 1}}}]}]\n"),
                     error));
  EXPECT_NE(error.find("clusters[1].load_assignment"), std::string::npos) << error;
  EXPECT_NE(error.find("original destination"), std::string::npos) << error;
  EXPECT_FALSE(build(
      bootstrap("PassthroughCluster", "backend", "      outlier_detection: {consecutive_5xx: 5}\n"),
      error));
  EXPECT_NE(error.find("clusters[1].outlier_detection"), std::string::npos) << error;
}

}  // namespace
}  // namespace weft::proxy
