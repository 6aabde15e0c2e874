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

}  // namespace
}  // namespace weft::config
