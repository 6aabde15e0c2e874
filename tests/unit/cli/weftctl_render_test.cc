#include <gtest/gtest.h>

#include "cli/proxy_config_command.h"
#include "cli/proxy_status_command.h"
#include "cli/text_table.h"

namespace weft::cli {
namespace {

weft::v1::ListProxiesResponse twoProxies() {
  weft::v1::ListProxiesResponse response;
  response.set_control_plane("cp-0");
  auto* a = response.add_proxies();
  a->mutable_node()->set_id("reviews-v1");
  a->mutable_node()->set_namespace_("default");
  a->mutable_node()->set_workload_name("reviews-v1");
  a->mutable_node()->set_proxy_version("0.1.0");
  auto* cluster = a->add_types();
  cluster->set_type_url("type.googleapis.com/weft.v1.Cluster");
  cluster->set_state(weft::v1::TypeSyncStatus::SYNCED);
  cluster->set_sent_version("aaaa");
  cluster->set_acked_version("aaaa");
  auto* listener = a->add_types();
  listener->set_type_url("type.googleapis.com/weft.v1.Listener");
  listener->set_state(weft::v1::TypeSyncStatus::REJECTED);
  listener->set_sent_version("bbbb");
  listener->set_acked_version("cccc");
  listener->set_nacks(1);
  listener->mutable_last_error()->set_resource_name("outbound");
  listener->mutable_last_error()->set_field("address.port");
  listener->mutable_last_error()->set_message("is required");
  auto* b = response.add_proxies();
  b->mutable_node()->set_id("productpage-v1");
  auto* stale = b->add_types();
  stale->set_type_url("type.googleapis.com/weft.v1.ClusterLoadAssignment");
  stale->set_state(weft::v1::TypeSyncStatus::STALE);
  return response;
}

TEST(WeftctlRenderTest, ProxyStatusTableShowsStatesAndRejections) {
  const std::string table = renderProxyStatusTable(twoProxies());
  EXPECT_NE(table.find("NAME"), std::string::npos);
  EXPECT_NE(table.find("reviews-v1"), std::string::npos);
  EXPECT_NE(table.find("REJECTED"), std::string::npos);
  EXPECT_NE(table.find("STALE"), std::string::npos);
  EXPECT_NE(
      table.find("reviews-v1 rejected Listener bbbb: outbound field address.port: is required"),
      std::string::npos)
      << table;
}

TEST(WeftctlRenderTest, ProxyStatusDetailShowsVersions) {
  const std::string detail = renderProxyStatusDetail(twoProxies(), "reviews-v1");
  EXPECT_NE(detail.find("cccc"), std::string::npos);
  EXPECT_NE(detail.find("last rejection of Listener"), std::string::npos);
  EXPECT_TRUE(renderProxyStatusDetail(twoProxies(), "nobody").empty());
}

TEST(WeftctlRenderTest, NoProxiesSaysSo) {
  weft::v1::ListProxiesResponse empty;
  empty.set_control_plane("cp-0");
  EXPECT_EQ(renderProxyStatusTable(empty), "No proxy is connected to the control plane cp-0.\n");
}

constexpr const char* kDump = R"({
  "version_info": "Cluster=aa Listener=bb",
  "bootstrap": {"static_resources": {
    "listeners": [{"name": "outbound", "address": {"address": "127.0.0.1", "port": 18001},
      "filter_chains": [{"name": "http", "http": {"stat_prefix": "o",
        "route_config": {"name": "outbound/18001", "virtual_hosts": [{
          "name": "reviews.default.svc.cluster.local:9080",
          "domains": ["reviews:9080", "reviews.default:9080"],
          "routes": [
            {"name": "default/reviews/canary", "match": {"prefix": "/",
               "headers": [{"name": "x-canary", "exact": "yes"}]},
             "route": {"weighted_clusters": {"clusters": [
               {"name": "outbound/reviews.default.svc.cluster.local:9080/v2", "weight": 1}]}}},
            {"name": "default", "match": {"prefix": "/"},
             "route": {"cluster": "outbound/reviews.default.svc.cluster.local:9080"}}]}]}}}]}],
    "clusters": [{"name": "outbound/reviews.default.svc.cluster.local:9080", "type": "STATIC",
      "protocol": "USE_DOWNSTREAM", "load_assignment": {"endpoints": [{"lb_endpoints": [
        {"endpoint": {"address": {"address": "127.0.0.1", "port": 9}}}]}]}}]}}})";

TEST(WeftctlRenderTest, ProxyConfigRoutesTable) {
  std::string out;
  ASSERT_EQ(renderProxyConfig(kDump, "", "routes", "table", out), "");
  EXPECT_NE(out.find("version: Cluster=aa Listener=bb"), std::string::npos);
  EXPECT_NE(out.find("reviews:9080,reviews.default:9080"), std::string::npos) << out;
  EXPECT_NE(out.find("prefix / header x-canary"), std::string::npos) << out;
  EXPECT_NE(out.find("outbound/reviews.default.svc.cluster.local:9080/v2 (1)"), std::string::npos);
}

TEST(WeftctlRenderTest, ProxyConfigClustersAndListeners) {
  std::string out;
  ASSERT_EQ(renderProxyConfig(kDump, "", "clusters", "table", out), "");
  EXPECT_NE(out.find("USE_DOWNSTREAM"), std::string::npos);
  ASSERT_EQ(renderProxyConfig(kDump, "", "listeners", "table", out), "");
  EXPECT_NE(out.find("127.0.0.1:18001"), std::string::npos);
  EXPECT_NE(out.find("HTTP routes outbound/18001"), std::string::npos);
}

TEST(WeftctlRenderTest, ProxyConfigEndpointsFromClusters) {
  std::string out;
  ASSERT_EQ(renderProxyConfig(kDump,
                              R"({"clusters":[{"name":"c","added_via_api":true,"endpoints":[
                                 {"address":"127.0.0.1:9","weight":1,"health":"healthy",
                                  "active_requests":0}]}]})",
                              "endpoints", "table", out),
            "");
  EXPECT_NE(out.find("127.0.0.1:9"), std::string::npos);
  EXPECT_NE(out.find("healthy"), std::string::npos);
}

TEST(WeftctlRenderTest, ProxyConfigRefusesNonJson) {
  std::string out;
  EXPECT_NE(renderProxyConfig("<html>", "", "routes", "table", out), "");
}

TEST(WeftctlRenderTest, TextTablePadsColumns) {
  TextTable table({"A", "BB"});
  table.add({"long value", "x"});
  EXPECT_EQ(table.render(), "A            BB\nlong value   x\n");
}

}  // namespace
}  // namespace weft::cli
