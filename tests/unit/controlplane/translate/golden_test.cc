// Golden files: the resources of each case's proxies, rendered as text. They are the
// specification of translation: a change to the translator shows up as a reviewed diff of
// these files. WEFT_UPDATE_GOLDEN=1 rewrites them instead of comparing.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "controlplane/translate/translator.h"
#include "tests/unit/controlplane/translate/golden_cases.h"
#include "tests/unit/controlplane/translate/resource_text.h"

namespace weft::controlplane::testing {
namespace {

std::string goldenPath(const std::string& name) {
  return std::string(WEFT_SOURCE_DIR) + "/tests/unit/controlplane/translate/golden/" + name +
         ".txt";
}

std::string renderCase(const GoldenCase& golden) {
  Translator translator(golden.model, nullptr, golden.trust_bundle_pem);
  std::string text = "# " + golden.name + ": " + golden.description + "\n";
  for (const weft::v1::Node& node : golden.nodes) {
    text += "\n== proxy " + node.id() + "\n";
    text += renderResources(translator.forProxy(node));
  }
  text += "\n== problems\n";
  for (const std::string& problem : translator.problems()) {
    text += "- " + problem + "\n";
  }
  return text;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// The first line where the texts differ, for a readable failure.
std::string firstDifference(const std::string& expected, const std::string& actual) {
  std::istringstream want(expected);
  std::istringstream got(actual);
  std::string want_line;
  std::string got_line;
  for (int line = 1;; ++line) {
    const bool more_wanted = static_cast<bool>(std::getline(want, want_line));
    const bool more_got = static_cast<bool>(std::getline(got, got_line));
    if (!more_wanted && !more_got) {
      return "no difference";
    }
    if (!more_wanted || !more_got || want_line != got_line) {
      return "line " + std::to_string(line) +
             ":\n  golden: " + (more_wanted ? want_line : "<end of file>") +
             "\n  actual: " + (more_got ? got_line : "<end of output>");
    }
  }
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, ResourcesMatchTheGoldenFile) {
  const GoldenCase golden = goldenCase(GetParam());
  ASSERT_FALSE(golden.nodes.empty());
  const std::string actual = renderCase(golden);
  const std::string path = goldenPath(golden.name);
  const char* update = std::getenv("WEFT_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << actual;
    std::cout << "rewrote " << path << "\n";
    return;
  }
  const std::string expected = readFile(path);
  EXPECT_EQ(expected, actual)
      << "translation of case " << golden.name << " differs from " << path << " at "
      << firstDifference(expected, actual)
      << "\nIf the change is intended, run the test with WEFT_UPDATE_GOLDEN=1 to rewrite the "
         "golden files and review their diff.";
}

TEST_P(GoldenTest, TranslationIsDeterministic) {
  const GoldenCase golden = goldenCase(GetParam());
  EXPECT_EQ(renderCase(golden), renderCase(golden));
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenTest, ::testing::ValuesIn(goldenCaseNames()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           return param.param;
                         });

}  // namespace
}  // namespace weft::controlplane::testing
