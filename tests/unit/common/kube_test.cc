#include <gtest/gtest.h>
#include <stdlib.h>

#include "common/kube/api_client.h"
#include "common/kube/api_server.h"
#include "common/kube/leader_elector.h"
#include "common/text/base64.h"

namespace weft::kube {
namespace {

TEST(ApiServerFromUrlTest, TakesHostAndPort) {
  auto server = apiServerFromUrl("https://api.example.com:6443", "/t", "/ca");
  ASSERT_TRUE(server) << server.error();
  EXPECT_EQ(server->host, "api.example.com");
  EXPECT_EQ(server->port, 6443);
  EXPECT_EQ(server->token_file, "/t");
  EXPECT_EQ(server->ca_file, "/ca");
  EXPECT_EQ(server->url(), "https://api.example.com:6443");
}

TEST(ApiServerFromUrlTest, DefaultsToPort443AndAllowsATrailingSlash) {
  auto server = apiServerFromUrl("https://10.96.0.1/", "", "/ca");
  ASSERT_TRUE(server) << server.error();
  EXPECT_EQ(server->host, "10.96.0.1");
  EXPECT_EQ(server->port, 443);
}

TEST(ApiServerFromUrlTest, TakesBracketedIpv6) {
  auto server = apiServerFromUrl("https://[fd00::1]:8443", "", "/ca");
  ASSERT_TRUE(server) << server.error();
  EXPECT_EQ(server->host, "fd00::1");
  EXPECT_EQ(server->port, 8443);
  EXPECT_EQ(server->url(), "https://[fd00::1]:8443");
}

TEST(ApiServerFromUrlTest, RefusesWhatItCannotUseSafely) {
  for (const char* url : {"http://127.0.0.1:8080", "127.0.0.1:6443", "https://", "https://:6443",
                          "https://h:0", "https://h:65536", "https://h:x", "https://h:",
                          "https://h/api", "https://user@h", "https://[::1", "https://[::1]x"}) {
    auto server = apiServerFromUrl(url, "", "/ca");
    EXPECT_FALSE(server) << url;
  }
}

// Leaves the environment as it found it, even when an assertion ends the test early.
struct ServiceEnvironment {
  ServiceEnvironment() = default;
  ServiceEnvironment(const ServiceEnvironment&) = delete;
  ServiceEnvironment& operator=(const ServiceEnvironment&) = delete;
  ~ServiceEnvironment() {
    ::unsetenv("KUBERNETES_SERVICE_HOST");
    ::unsetenv("KUBERNETES_SERVICE_PORT");
  }
};

TEST(InClusterApiServerTest, ReadsTheServiceEnvironment) {
  const ServiceEnvironment restore;
  ::setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  ::setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  auto server = inClusterApiServer();
  ASSERT_TRUE(server) << server.error();
  EXPECT_EQ(server->host, "10.96.0.1");
  EXPECT_EQ(server->port, 443);
  EXPECT_EQ(server->token_file, "/var/run/secrets/kubernetes.io/serviceaccount/token");
  EXPECT_EQ(server->ca_file, "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");

  ::setenv("KUBERNETES_SERVICE_PORT", "https", 1);
  EXPECT_FALSE(inClusterApiServer());
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  ::unsetenv("KUBERNETES_SERVICE_PORT");
  auto outside = inClusterApiServer();
  ASSERT_FALSE(outside);
  EXPECT_NE(outside.error().find("KUBERNETES_SERVICE_HOST"), std::string::npos);
}

TEST(ApiResponseTest, DescribesTransportErrorsAndStatusObjects) {
  EXPECT_EQ((ApiResponse{0, "", "connecting failed"}).describe(), "connecting failed");
  EXPECT_EQ(
      (ApiResponse{404,
                   R"({"kind":"Status","status":"Failure","message":"secrets \"ca\" not found",)"
                   R"("reason":"NotFound","code":404})",
                   ""})
          .describe(),
      "404: secrets \"ca\" not found");
  EXPECT_EQ((ApiResponse{502, "<html>bad gateway</html>", ""}).describe(), "502");
}

TEST(ApiClientTest, AnUnreadableCaFileFailsBeforeAnyConnection) {
  ApiServer server;
  server.host = "127.0.0.1";
  server.port = 1;
  server.ca_file = "/nonexistent/ca.crt";
  const ApiResponse response = ApiClient(server, std::chrono::seconds(1)).call("GET", "/api");
  EXPECT_EQ(response.status, 0u);
  EXPECT_NE(response.error.find("/nonexistent/ca.crt"), std::string::npos) << response.error;
}

}  // namespace
}  // namespace weft::kube

namespace weft::text {
namespace {

TEST(Base64Test, RoundTripsEveryLengthModuloThree) {
  const std::string bytes("\x00\xff\x10 binary\n\x80", 12);
  for (size_t length = 0; length <= bytes.size(); ++length) {
    const std::string part = bytes.substr(0, length);
    const std::string encoded = encodeBase64(part);
    EXPECT_EQ(encoded.size() % 4, 0u);
    EXPECT_EQ(decodeBase64(encoded), part) << encoded;
  }
  EXPECT_EQ(encodeBase64("weft"), "d2VmdA==");
}

TEST(Base64Test, RefusesOtherCharactersAndDataAfterPadding) {
  EXPECT_FALSE(decodeBase64("d2V*dA=="));
  EXPECT_FALSE(decodeBase64("d2==VmdA"));
  EXPECT_FALSE(decodeBase64("d2VmdA==="));
  EXPECT_EQ(decodeBase64("d2Vm\r\ndA"), "weft");  // wrapped and unpadded, as some writers do
}

}  // namespace
}  // namespace weft::text

namespace weft::kube {
namespace {

TEST(MicroTimeTest, IsRfc3339InUtcWithMicroseconds) {
  // 2026-11-28T10:00:00Z is 1795860000 s after the epoch.
  const auto when = std::chrono::system_clock::time_point(std::chrono::seconds(1795860000)) +
                    std::chrono::microseconds(42);
  EXPECT_EQ(microTime(when), "2026-11-28T10:00:00.000042Z");
}

}  // namespace
}  // namespace weft::kube
