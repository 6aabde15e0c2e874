// Acceptance by the real proxy: each golden case's resources, turned into a static bootstrap,
// must pass the API validator and today's snapshot builder. This is what makes the default
// output safe to send: a resource the proxy rejects would be NACKed by every proxy.

#include <gtest/gtest.h>

#include <algorithm>

#include "common/config/proto_validator.h"
#include "controlplane/translate/translator.h"
#include "proxy/snapshot/snapshot_builder.h"
#include "tests/unit/controlplane/translate/golden_cases.h"
#include "tests/unit/controlplane/translate/proxy_bootstrap.h"
#include "tests/unit/controlplane/translate/resource_text.h"

namespace weft::controlplane::testing {
namespace {

constexpr std::string_view kNotImplemented = "is not implemented by this version of weft-proxy";

std::string lastField(const std::string& path) {
  const size_t dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

class AcceptanceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(AcceptanceTest, EveryResourcePassesTheValidator) {
  const GoldenCase golden = goldenCase(GetParam());
  Translator translator(golden.model, nullptr, golden.trust_bundle_pem);
  for (const weft::v1::Node& node : golden.nodes) {
    const ProxyResources resources = translator.forProxy(node);
    for (ResourceType type : kPushOrder) {
      for (const BuiltResourcePtr& resource : resources.of(type)) {
        auto message = parseResource(*resource);
        ASSERT_NE(message, nullptr);
        const config::ConfigErrors errors = config::validateMessage(*message, resource->name);
        EXPECT_TRUE(errors.empty()) << node.id() << ": " << config::formatErrors(errors);
      }
    }
  }
}

TEST_P(AcceptanceTest, TodaysProxyBuildsASnapshot) {
  const GoldenCase golden = goldenCase(GetParam());
  Translator translator(golden.model, nullptr, golden.trust_bundle_pem);
  for (const weft::v1::Node& node : golden.nodes) {
    std::vector<std::string> reference_errors;
    const weft::v1::Bootstrap bootstrap =
        staticBootstrap(node, translator.forProxy(node), reference_errors);
    EXPECT_TRUE(reference_errors.empty())
        << node.id() << ": " << ::testing::PrintToString(reference_errors);
    const config::ConfigErrors invalid = config::validateMessage(bootstrap, "translate-test");
    EXPECT_TRUE(invalid.empty()) << node.id() << ": " << config::formatErrors(invalid);

    config::ConfigErrors errors;
    const auto snapshot = weft::proxy::buildSnapshot(bootstrap, "translate-test", errors, 1);
    // Errors are allowed only for the settings the case sets on purpose and the proxy does
    // not implement yet; everything the translator emits by default must be accepted.
    config::ConfigErrors unexpected;
    for (const config::ConfigError& error : errors) {
      const bool allowed =
          error.reason.find(kNotImplemented) != std::string::npos &&
          std::find(golden.unimplemented_fields.begin(), golden.unimplemented_fields.end(),
                    lastField(error.field_path)) != golden.unimplemented_fields.end();
      if (!allowed) {
        unexpected.push_back(error);
      }
    }
    EXPECT_TRUE(unexpected.empty()) << node.id() << ":\n" << config::formatErrors(unexpected);
    if (golden.unimplemented_fields.empty()) {
      EXPECT_NE(snapshot, nullptr) << node.id();
    } else {
      // The case exercises the unimplemented settings: the proxy must meet them.
      EXPECT_FALSE(errors.empty()) << node.id();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, AcceptanceTest, ::testing::ValuesIn(goldenCaseNames()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           return param.param;
                         });

}  // namespace
}  // namespace weft::controlplane::testing
