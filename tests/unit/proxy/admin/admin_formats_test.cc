// The admin endpoint's pure parts: request targets, Host/Origin checks, the bootstrap
// address, and the /clusters and /config_dump renderings.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "proxy/admin/admin_address.h"
#include "proxy/admin/admin_endpoints.h"
#include "proxy/admin/cluster_status.h"
#include "proxy/admin/config_dump.h"
#include "proxy/admin/json_text.h"
#include "proxy/admin/request_target.h"

namespace weft::proxy::admin {
namespace {

TEST(RequestTargetTest, SplitsPathAndDecodesParameters) {
  std::string error;
  const auto target = parseRequestTarget("/logging?level=de%62ug&flag&a+b=c%20d&&", error);
  ASSERT_TRUE(target) << error;
  EXPECT_EQ(target->path, "/logging");
  ASSERT_EQ(target->params.size(), 3u);
  EXPECT_EQ(target->param("level"), "debug");
  EXPECT_EQ(target->param("flag"), "");
  EXPECT_EQ(target->param("a b"), "c d");
  EXPECT_FALSE(target->param("missing"));
}

TEST(RequestTargetTest, PathWithoutQuery) {
  std::string error;
  const auto target = parseRequestTarget("/ready", error);
  ASSERT_TRUE(target);
  EXPECT_EQ(target->path, "/ready");
  EXPECT_TRUE(target->params.empty());
}

TEST(RequestTargetTest, RefusesWhatIsNotAnOriginFormTarget) {
  for (std::string_view bad : {"", "ready", "http://127.0.0.1/ready", "*", "/a#frag", "/a b",
                               "/a\x01", "/x?level=%", "/x?level=%4", "/x?level=%zz"}) {
    std::string error;
    EXPECT_FALSE(parseRequestTarget(bad, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(AdminHostTest, AcceptsIpLiteralsAndLocalhostOnly) {
  for (std::string_view good : {"", "127.0.0.1", "127.0.0.1:15000", "[::1]", "[::1]:15000",
                                "localhost", "LOCALHOST:15000", "10.1.2.3:15000"}) {
    EXPECT_TRUE(isAcceptableAdminHost(good)) << good;
  }
  for (std::string_view bad : {"evil.example", "evil.example:15000", "127.0.0.1.nip.io", "[::1",
                               "[::1]x", "127.0.0.1:port", "localhost:123456", ":80"}) {
    EXPECT_FALSE(isAcceptableAdminHost(bad)) << bad;
  }
}

TEST(AdminOriginTest, AcceptsLoopbackPagesOnly) {
  for (std::string_view good :
       {"http://127.0.0.1:15000", "http://localhost", "https://[::1]:8443", "HTTP://127.1.2.3"}) {
    EXPECT_TRUE(isLoopbackOrigin(good)) << good;
  }
  for (std::string_view bad : {"null", "http://evil.example", "http://10.0.0.1:15000", "file://",
                               "http://", "127.0.0.1", "http://127.0.0.1.evil.example"}) {
    EXPECT_FALSE(isLoopbackOrigin(bad)) << bad;
  }
}

TEST(AdminAddressTest, DefaultsToLoopbackPort15000) {
  weft::v1::Bootstrap bootstrap;
  boost::asio::ip::tcp::endpoint address;
  EXPECT_EQ(adminAddress(bootstrap, address), "");
  EXPECT_EQ(address.address().to_string(), "127.0.0.1");
  EXPECT_EQ(address.port(), 15000);
}

TEST(AdminAddressTest, TakesAConfiguredLoopbackAddress) {
  weft::v1::Bootstrap bootstrap;
  bootstrap.mutable_admin()->mutable_address()->set_address("::1");
  bootstrap.mutable_admin()->mutable_address()->set_port(19000);
  boost::asio::ip::tcp::endpoint address;
  EXPECT_EQ(adminAddress(bootstrap, address), "");
  EXPECT_EQ(address.address().to_string(), "::1");
  EXPECT_EQ(address.port(), 19000);
}

TEST(AdminAddressTest, RefusesNonLoopbackAndNonIpAddresses) {
  for (std::string_view bad : {"0.0.0.0", "10.0.0.7", "::", "localhost"}) {
    weft::v1::Bootstrap bootstrap;
    bootstrap.mutable_admin()->mutable_address()->set_address(std::string(bad));
    bootstrap.mutable_admin()->mutable_address()->set_port(15000);
    boost::asio::ip::tcp::endpoint address;
    const std::string error = adminAddress(bootstrap, address);
    EXPECT_NE(error.find("admin.address.address"), std::string::npos) << bad << ": " << error;
  }
}

std::vector<ClusterStatus> sampleClusters() {
  return {
      {"zeta", true, {}},
      {"backend",
       false,
       {{"10.0.0.7:8080", 3, EndpointHealth::kHealthy, 2},
        {"[fd00::7]:8080", 1, EndpointHealth::kEjected, 0}}},
  };
}

TEST(ClusterStatusTest, TextIsOneFactPerLineSortedByCluster) {
  EXPECT_EQ(renderClustersText(sampleClusters()),
            "backend::added_via_api::false\n"
            "backend::10.0.0.7:8080::weight::3\n"
            "backend::10.0.0.7:8080::health_flags::healthy\n"
            "backend::10.0.0.7:8080::rq_active::2\n"
            "backend::[fd00::7]:8080::weight::1\n"
            "backend::[fd00::7]:8080::health_flags::ejected\n"
            "backend::[fd00::7]:8080::rq_active::0\n"
            "zeta::added_via_api::true\n");
  EXPECT_EQ(renderClustersText({}), "");
}

TEST(ClusterStatusTest, EndpointAddressBracketsIpv6) {
  using boost::asio::ip::make_address;
  EXPECT_EQ(endpointAddress({make_address("10.0.0.7"), 8080}), "10.0.0.7:8080");
  EXPECT_EQ(endpointAddress({make_address("fd00::7"), 8080}), "[fd00::7]:8080");
}

TEST(ClusterStatusTest, HealthNames) {
  EXPECT_EQ(endpointHealthName(EndpointHealth::kHealthy), "healthy");
  EXPECT_EQ(endpointHealthName(EndpointHealth::kDegraded), "degraded");
  EXPECT_EQ(endpointHealthName(EndpointHealth::kUnhealthy), "unhealthy");
  EXPECT_EQ(endpointHealthName(EndpointHealth::kEjected), "ejected");
  EXPECT_EQ(endpointHealthName(EndpointHealth::kDraining), "draining");
}

TEST(ClusterStatusTest, JsonHasEveryField) {
  const boost::json::value parsed = boost::json::parse(renderClustersJson(sampleClusters()));
  const auto& clusters = parsed.at("clusters").as_array();
  ASSERT_EQ(clusters.size(), 2u);
  EXPECT_EQ(clusters[0].at("name"), "backend");
  EXPECT_EQ(clusters[0].at("added_via_api"), false);
  const auto& endpoints = clusters[0].at("endpoints").as_array();
  ASSERT_EQ(endpoints.size(), 2u);
  EXPECT_EQ(endpoints[0].at("address"), "10.0.0.7:8080");
  EXPECT_EQ(endpoints[0].at("weight").to_number<int>(), 3);
  EXPECT_EQ(endpoints[0].at("health"), "healthy");
  EXPECT_EQ(endpoints[0].at("active_requests").to_number<int>(), 2);
  EXPECT_EQ(endpoints[1].at("health"), "ejected");
  EXPECT_EQ(clusters[1].at("name"), "zeta");
  EXPECT_TRUE(clusters[1].at("endpoints").as_array().empty());
}

TEST(JsonTextTest, PrettyPrintsNestedValues) {
  const boost::json::value value = {
      {"a", 1}, {"b", boost::json::array{true, nullptr}}, {"c", boost::json::object{}}};
  EXPECT_EQ(prettyJson(value),
            "{\n"
            "  \"a\": 1,\n"
            "  \"b\": [\n"
            "    true,\n"
            "    null\n"
            "  ],\n"
            "  \"c\": {}\n"
            "}\n");
  EXPECT_EQ(jsonQuoted("a\"b\n"), "\"a\\\"b\\n\"");
}

weft::v1::Bootstrap bootstrapWithSecret() {
  weft::v1::Bootstrap bootstrap;
  bootstrap.mutable_node()->set_id("reviews-v1.default");
  bootstrap.mutable_static_resources()->add_clusters()->set_name("backend");
  auto* secret = bootstrap.mutable_static_resources()->add_secrets();
  secret->set_name("identity");
  secret->mutable_tls_certificate()->set_certificate_chain("CERTIFICATE");
  secret->mutable_tls_certificate()->set_private_key("-----BEGIN PRIVATE KEY-----TOPSECRET");
  return bootstrap;
}

TEST(ConfigDumpTest, RedactsInlinePrivateKeys) {
  weft::v1::Bootstrap bootstrap = bootstrapWithSecret();
  EXPECT_TRUE(redactSecrets(bootstrap));
  EXPECT_EQ(bootstrap.static_resources().secrets(0).tls_certificate().private_key(), "[redacted]");
  EXPECT_EQ(bootstrap.static_resources().secrets(0).tls_certificate().certificate_chain(),
            "CERTIFICATE");
  weft::v1::Bootstrap without_keys;
  without_keys.mutable_static_resources()
      ->add_secrets()
      ->mutable_tls_certificate()
      ->set_private_key_file("/etc/key.pem");
  EXPECT_FALSE(redactSecrets(without_keys));
}

TEST(ConfigDumpTest, RendersEnvelopeWithProtoFieldNamesAndLeavesTheSourceAlone) {
  ConfigDump dump;
  dump.bootstrap = std::make_shared<const weft::v1::Bootstrap>(bootstrapWithSecret());
  dump.version_info = "static";
  dump.last_updated =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1'714'566'896'789));
  std::string out;
  std::string error;
  ASSERT_TRUE(renderConfigDump(dump, out, error)) << error;
  EXPECT_EQ(out.find("TOPSECRET"), std::string::npos);
  EXPECT_NE(out.find("\n    \"static_resources\": {"), std::string::npos) << out;
  const boost::json::value parsed = boost::json::parse(out);
  EXPECT_EQ(parsed.at("version_info"), "static");
  EXPECT_EQ(parsed.at("last_updated"), "2024-05-01T12:34:56.789Z");
  EXPECT_EQ(parsed.at("bootstrap").at("node").at("id"), "reviews-v1.default");
  const auto& secret = parsed.at("bootstrap").at("static_resources").at("secrets").at(0);
  EXPECT_EQ(secret.at("tls_certificate").at("private_key"), "[redacted]");
  // The snapshot's own message is never modified.
  EXPECT_NE(dump.bootstrap->static_resources().secrets(0).tls_certificate().private_key().find(
                "TOPSECRET"),
            std::string::npos);
}

TEST(ConfigDumpTest, UnknownUpdateTimeIsNull) {
  ConfigDump dump;
  std::string out;
  std::string error;
  ASSERT_TRUE(renderConfigDump(dump, out, error));
  const boost::json::value parsed = boost::json::parse(out);
  EXPECT_TRUE(parsed.at("last_updated").is_null());
  EXPECT_TRUE(parsed.at("bootstrap").as_object().empty());
}

}  // namespace
}  // namespace weft::proxy::admin
