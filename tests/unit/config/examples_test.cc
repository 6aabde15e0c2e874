// Every configuration example in docs/ must load and validate: the docs are
// only useful if what they show works.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/config/yaml_to_proto.h"
#include "weft/v1/bootstrap.pb.h"

namespace weft::config {
namespace {

std::vector<std::filesystem::path> yamlFilesIn(const std::filesystem::path& directory) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    if (entry.path().extension() == ".yaml") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(ExamplesTest, EveryProxyBootstrapExampleLoads) {
  const auto files = yamlFilesIn(std::filesystem::path(WEFT_SOURCE_DIR) / "docs/examples/proxy");
  ASSERT_GE(files.size(), 4u) << "the proxy examples are missing";
  for (const auto& file : files) {
    weft::v1::Bootstrap bootstrap;
    const ConfigErrors errors = loadYamlFile(file.string(), bootstrap);
    EXPECT_TRUE(errors.empty()) << formatErrors(errors);
    EXPECT_FALSE(bootstrap.node().id().empty()) << file;
  }
}

// The injected sidecar's bootstrap, as the kubelet's expansion leaves it: the pod's addresses
// each whole, the application's probes and the inline roots where the proxy looks for them.
TEST(ExamplesTest, TheInjectedSidecarBootstrapReadsAsTheKubeletExpandsIt) {
  weft::v1::Bootstrap bootstrap;
  const ConfigErrors errors = loadYamlFile(
      (std::filesystem::path(WEFT_SOURCE_DIR) / "docs/examples/proxy/injected-sidecar.yaml")
          .string(),
      bootstrap);
  ASSERT_TRUE(errors.empty()) << formatErrors(errors);
  ASSERT_EQ(bootstrap.node().ip_addresses_size(), 2);
  EXPECT_EQ(bootstrap.node().ip_addresses(0), "10.244.0.5");
  EXPECT_EQ(bootstrap.node().ip_addresses(1), "fd00:10:244::5");
  const auto& probes = bootstrap.status_server().app_probes();
  ASSERT_EQ(probes.size(), 3u);
  EXPECT_EQ(probes.at("app/livez").http_get().path(), "/healthz");
  EXPECT_EQ(probes.at("app/readyz").tcp_socket().port(), 8080u);
  EXPECT_TRUE(probes.at("worker/startupz").has_grpc());
  EXPECT_EQ(probes.at("worker/startupz").grpc().service(), "");
  const auto& tls = bootstrap.dynamic_resources().ads().server().tls();
  EXPECT_EQ(tls.ca_pem().rfind("-----BEGIN CERTIFICATE-----\nMII", 0), 0u);
  EXPECT_EQ(tls.ca_pem().back(), '\n');
}

}  // namespace
}  // namespace weft::config
