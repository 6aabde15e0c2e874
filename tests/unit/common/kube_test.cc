#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/kube/api_client.h"
#include "common/kube/api_server.h"
#include "common/kube/kubeconfig.h"
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

namespace weft::kube {
namespace {

// A scratch directory for one test, removed after it.
class KubeconfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "kubeconfig-test-XXXXXX");
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  static std::string slurp(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::string dir_;
};

constexpr const char* kTwoContexts = R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: Q0EtUEVN}
- name: prod-cluster
  cluster: {server: "https://api.prod.example:443", certificate-authority: certs/ca.crt}
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user}
- name: prod
  context: {cluster: prod-cluster, user: prod-user}
users:
- name: dev-user
  user: {token: dev-token}
- name: prod-user
  user: {client-certificate: certs/me.crt, client-key: /abs/me.key}
)";

TEST_F(KubeconfigTest, CurrentContextWithInlineDataBecomesPrivateFiles) {
  const std::string config = write("config", kTwoContexts);
  const auto server = kubeconfigApiServer(config, "", dir_ + "/run");
  ASSERT_TRUE(server) << server.error();
  EXPECT_EQ(server->host, "127.0.0.1");
  EXPECT_EQ(server->port, 6443);
  EXPECT_EQ(slurp(server->ca_file), "CA-PEM");  // base64-decoded
  EXPECT_EQ(slurp(server->token_file), "dev-token");
  EXPECT_TRUE(server->client_cert_file.empty());
  const auto perms = std::filesystem::status(server->token_file).permissions();
  EXPECT_EQ(perms & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST_F(KubeconfigTest, NamedContextWithClientCertificateAndRelativePaths) {
  const std::string config = write("config", kTwoContexts);
  const auto server = kubeconfigApiServer(config, "prod", dir_ + "/run");
  ASSERT_TRUE(server) << server.error();
  EXPECT_EQ(server->host, "api.prod.example");
  EXPECT_EQ(server->ca_file, dir_ + "/certs/ca.crt");  // relative to the kubeconfig
  EXPECT_EQ(server->client_cert_file, dir_ + "/certs/me.crt");
  EXPECT_EQ(server->client_key_file, "/abs/me.key");
  EXPECT_TRUE(server->token_file.empty());
}

TEST_F(KubeconfigTest, RefusesWhatItCannotUseSafely) {
  const std::string base = kTwoContexts;
  struct Case {
    std::string from, to, reason;
  };
  const Case cases[] = {
      {"user: {token: dev-token}", "user: {exec: {command: aws}}", "plugin"},
      {"certificate-authority-data: Q0EtUEVN}", "insecure-skip-tls-verify: true}",
       "insecure-skip-tls-verify"},
      {"user: {token: dev-token}", "user: {username: admin}", "neither a token"},
      {"server: \"https://127.0.0.1:6443\"", "server: \"http://127.0.0.1:6443\"", "https://"},
      {"current-context: dev", "current-context: nowhere", "no context named \"nowhere\""},
  };
  for (const Case& c : cases) {
    std::string text = base;
    text.replace(text.find(c.from), c.from.size(), c.to);
    const auto server = kubeconfigApiServer(write("config", text), "", dir_ + "/run");
    ASSERT_FALSE(server) << c.to;
    EXPECT_NE(server.error().find(c.reason), std::string::npos) << server.error();
  }
  EXPECT_FALSE(kubeconfigApiServer(dir_ + "/missing", "", dir_ + "/run"));
  for (const char* unsupported : {"tls-server-name: api.internal", "proxy-url: http://p:3128"}) {
    std::string text = base;
    const std::string from = "certificate-authority-data: Q0EtUEVN}";
    text.replace(text.find(from), from.size(),
                 "certificate-authority-data: Q0EtUEVN, " + std::string(unsupported) + "}");
    const auto server = kubeconfigApiServer(write("config", text), "", dir_ + "/run");
    ASSERT_FALSE(server) << unsupported;
    EXPECT_NE(server.error().find("not supported"), std::string::npos) << server.error();
  }
}

TEST_F(KubeconfigTest, BothFormsGivenFollowClientGo) {
  // The *-data fields win over their files; tokenFile wins over token.
  std::string text = kTwoContexts;
  const std::string from = "user: {token: dev-token}";
  text.replace(text.find(from), from.size(),
               "user: {token: inline, tokenFile: tok, client-certificate: c.crt, "
               "client-certificate-data: Q0VSVA==, client-key: k.key, client-key-data: S0VZ}");
  const auto server = kubeconfigApiServer(write("config", text), "", dir_ + "/run");
  ASSERT_TRUE(server) << server.error();
  EXPECT_EQ(server->token_file, dir_ + "/tok");
  EXPECT_EQ(slurp(server->client_cert_file), "CERT");
  EXPECT_EQ(slurp(server->client_key_file), "KEY");
}

}  // namespace
}  // namespace weft::kube
