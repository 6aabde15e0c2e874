// How the snapshot builder reads AccessLog configs: the bootstrap's default, a chain's own, and
// the errors that name the field.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/config/yaml_to_proto.h"
#include "proxy/snapshot/snapshot_builder.h"

namespace weft::proxy {
namespace {

std::string bootstrap(const std::string& top, const std::string& http_log,
                      const std::string& tcp_log) {
  return "node: {id: test}\n" + top + R"(
static_resources:
  listeners:
    - name: web
      address: {address: 127.0.0.1, port: 10080}
      filter_chains:
        - name: http
          http:
            stat_prefix: web
)" + http_log +
         R"(
            route_config:
              name: local
              virtual_hosts:
                - name: all
                  domains: ["*"]
                  routes:
                    - match: {prefix: /}
                      route: {cluster: backend}
    - name: db
      address: {address: 127.0.0.1, port: 10081}
      filter_chains:
        - name: tcp
          tcp:
            stat_prefix: db
            cluster: backend
)" + tcp_log +
         R"(
  clusters:
    - name: backend
      load_assignment:
        endpoints:
          - lb_endpoints:
              - endpoint: {address: {address: 127.0.0.1, port: 10090}}
)";
}

class AccessLogConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/weft-access-config-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

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

  const HttpChainConfig& http(const SnapshotPtr& snapshot) {
    return *snapshot->findListener("web")->chains.front().http;
  }
  const TcpChainConfig& tcp(const SnapshotPtr& snapshot) {
    return *snapshot->findListener("db")->chains.front().tcp;
  }

  std::string dir_;
};

TEST_F(AccessLogConfigTest, TheBootstrapLogIsEveryChainsDefault) {
  std::string error;
  const SnapshotPtr snapshot =
      build(bootstrap("access_log: {path: " + dir_ + "/all.log}\n", "", ""), error);
  ASSERT_TRUE(snapshot) << error;
  ASSERT_TRUE(http(snapshot).access_log);
  ASSERT_TRUE(tcp(snapshot).access_log);
  EXPECT_EQ(http(snapshot).access_log.get(), tcp(snapshot).access_log.get());
  EXPECT_TRUE(http(snapshot).access_log->format.isJson());
  EXPECT_EQ(http(snapshot).access_log->file->path(), dir_ + "/all.log");
}

TEST_F(AccessLogConfigTest, AChainsOwnLogReplacesTheDefaultAndZeroSamplingTurnsItOff) {
  std::string error;
  const SnapshotPtr snapshot = build(
      bootstrap("access_log: {path: " + dir_ + "/all.log}\n",
                "            access_log: {path: " + dir_ +
                    "/web.log, format: TEXT, text_format: \"%METHOD% %PATH%\", "
                    "sampling_percentage: 50, errors_only: true}",
                "            access_log: {path: " + dir_ + "/all.log, sampling_percentage: 0}"),
      error);
  ASSERT_TRUE(snapshot) << error;
  const AccessLogConfig& web = *http(snapshot).access_log;
  EXPECT_FALSE(web.format.isJson());
  EXPECT_TRUE(web.errors_only);
  EXPECT_EQ(web.sample_threshold, uint64_t{1} << 31);
  EXPECT_EQ(web.file->path(), dir_ + "/web.log");
  EXPECT_FALSE(tcp(snapshot).access_log);
}

TEST_F(AccessLogConfigTest, ErrorsNameTheField) {
  std::string error;
  EXPECT_FALSE(build(bootstrap("",
                               "            access_log: {path: " + dir_ +
                                   "/a.log, format: TEXT, text_format: \"%NOPE%\"}",
                               ""),
                     error));
  EXPECT_EQ(error,
            "static_resources.listeners[0].filter_chains[0].http.access_log.text_format: "
            "unknown field %NOPE% at offset 0");
  EXPECT_FALSE(
      build(bootstrap("", "            access_log: {path: " + dir_ + "/a.log, format: TEXT}", ""),
            error));
  EXPECT_EQ(error,
            "static_resources.listeners[0].filter_chains[0].http.access_log.text_format: "
            "required when format is TEXT");
  std::ofstream(dir_ + "/a-file") << "x";
  EXPECT_FALSE(build(bootstrap("access_log: {path: " + dir_ + "/a-file/a.log}\n", "", ""), error));
  EXPECT_EQ(error.rfind("access_log.path: \"" + dir_ + "/a-file/a.log\": cannot open", 0), 0U)
      << error;
}

}  // namespace
}  // namespace weft::proxy
