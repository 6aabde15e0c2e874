#include "proxy/authz/policy_compiler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/proxy/authz/authz_test_support.h"

namespace weft::proxy::authz {
namespace {

using testing::compileErrors;
using testing::compilePolicy;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::parsePolicy;

TEST(PolicyCompilerTest, CompilesNameActionDryRunAndRules) {
  const auto policy = compilePolicy(R"(name: "default/deny-admin" action: DENY dry_run: true
      rules { from { principals: "*" } to { paths: "/admin" ports: 8080 }
              when { key: "source.ip" values: "10.0.0.0/8" } }
      rules { to { hosts: "example.com" } })");
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(policy->name, "default/deny-admin");
  EXPECT_EQ(policy->action, PolicyAction::kDeny);
  EXPECT_TRUE(policy->dry_run);
  ASSERT_EQ(policy->rules.size(), 2u);
  EXPECT_EQ(policy->rules[0].from.size(), 1u);
  EXPECT_EQ(policy->rules[0].to.size(), 1u);
  EXPECT_EQ(policy->rules[0].when.size(), 1u);
  EXPECT_TRUE(policy->rules[0].uses_http_fields);
  EXPECT_TRUE(policy->rules[1].uses_http_fields);
  EXPECT_EQ(compilePolicy(R"(name: "a" action: AUDIT)")->action, PolicyAction::kAudit);
  EXPECT_EQ(compilePolicy(R"(name: "a")")->action, PolicyAction::kAllow);
}

TEST(PolicyCompilerTest, MarksRulesThatUseHttpFields) {
  const auto policy = compilePolicy(R"(name: "a"
      rules { from { principals: "*" } to { ports: 80 not_ports: 81 }
              when { key: "destination.port" values: "80" } }
      rules { when { key: "request.headers[x]" values: "y" } }
      rules { to { ports: 80 } to { not_methods: "GET" } })");
  ASSERT_EQ(policy->rules.size(), 3u);
  EXPECT_FALSE(policy->rules[0].uses_http_fields);
  EXPECT_TRUE(policy->rules[1].uses_http_fields);
  EXPECT_TRUE(policy->rules[2].uses_http_fields);
}

TEST(PolicyCompilerTest, BadCidrNamesTheField) {
  EXPECT_THAT(compileErrors(R"(name: "a" rules { from { principals: "*" }
                                                  from { ip_blocks: "10.0.0.0/8"
                                                         not_ip_blocks: "10.0.0.0/33" } })"),
              ElementsAre(HasSubstr("rules[0].from[1].not_ip_blocks[0]: prefix length 33")));
  EXPECT_THAT(compileErrors(R"(name: "a" rules { from { ip_blocks: "10.0.0.300" } })"),
              ElementsAre("rules[0].from[0].ip_blocks[0]: not an IP address or CIDR block: "
                          "\"10.0.0.300\""));
  EXPECT_THAT(compileErrors(R"(name: "a" rules {} rules { when { key: "destination.ip"
                                                                  values: "fd00::/8"
                                                                  not_values: "zz::/8" } })"),
              ElementsAre(HasSubstr("rules[1].when[0].not_values[0]: not an IP address")));
}

TEST(PolicyCompilerTest, BadPatternsNameTheField) {
  EXPECT_THAT(compileErrors(R"(name: "a" rules { from { principals: "a*b" } })"),
              ElementsAre(HasSubstr("rules[0].from[0].principals[0]: invalid pattern \"a*b\"")));
  EXPECT_THAT(compileErrors(R"(name: "a" rules { to { hosts: "" } })"),
              ElementsAre(HasSubstr("rules[0].to[0].hosts[0]: empty pattern")));
  EXPECT_THAT(compileErrors(R"(name: "a" rules { to { not_paths: "/a/**" } })"),
              ElementsAre(HasSubstr("rules[0].to[0].not_paths[0]: invalid pattern")));
  EXPECT_THAT(compileErrors(R"(name: "a" rules { when { key: "connection.sni" values: "" } })"),
              ElementsAre(HasSubstr("rules[0].when[0].values[0]: empty pattern")));
  EXPECT_THAT(
      compileErrors(R"(name: "a" rules { when { key: "request.headers[x]" values: "*a*" } })"),
      ElementsAre(HasSubstr("rules[0].when[0].values[0]: invalid pattern")));
}

TEST(PolicyCompilerTest, BadPortsAndMethodsNameTheField) {
  EXPECT_THAT(compileErrors(R"(name: "a" rules { to { ports: 0 not_ports: 70000 } })"),
              ElementsAre("rules[0].to[0].ports[0]: port 0 is not in 1-65535",
                          "rules[0].to[0].not_ports[0]: port 70000 is not in 1-65535"));
  EXPECT_THAT(compileErrors(R"(name: "a" rules { when { key: "destination.port"
                                                       values: "80" values: "http"
                                                       not_values: "65536" } })"),
              ElementsAre(HasSubstr("rules[0].when[0].values[1]: not a port number"),
                          HasSubstr("rules[0].when[0].not_values[0]: not a port number")));
  EXPECT_THAT(compileErrors(R"(name: "a" rules { to { methods: "get" } })"),
              ElementsAre(HasSubstr("rules[0].to[0].methods[0]: not a method name")));
}

TEST(PolicyCompilerTest, BadConditionsNameTheField) {
  EXPECT_THAT(compileErrors(R"(name: "a" rules { when { key: "source.port" values: "1" } })"),
              ElementsAre(HasSubstr("rules[0].when[0].key: unknown attribute \"source.port\"")));
  EXPECT_THAT(compileErrors(R"(name: "a" rules { when { key: "request.headers[]" values: "1" } })"),
              ElementsAre(HasSubstr("rules[0].when[0].key: unknown attribute")));
  EXPECT_THAT(
      compileErrors(R"(name: "a" rules { when { key: "request.headers[a b]" values: "1" } })"),
      ElementsAre(HasSubstr("rules[0].when[0].key: unknown attribute")));
  EXPECT_THAT(compileErrors(R"(name: "a" rules { when { key: "source.ip" } })"),
              ElementsAre("rules[0].when[0]: needs at least one of values and not_values"));
}

TEST(PolicyCompilerTest, NameAndActionAreChecked) {
  EXPECT_THAT(compileErrors(R"(action: DENY)"), ElementsAre("name: is required"));
  weft::v1::AuthorizationPolicy future = parsePolicy(R"(name: "a")");
  future.set_action(static_cast<weft::v1::AuthorizationPolicy::Action>(7));
  config::ConfigErrors errors;
  EXPECT_EQ(compileAuthorizationPolicy(future, "", errors), nullptr);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field_path, "action");
  EXPECT_EQ(errors[0].reason, "unknown action 7");
}

TEST(PolicyCompilerTest, EveryErrorIsReportedUnderTheGivenPath) {
  config::ConfigErrors errors;
  const auto policy = compileAuthorizationPolicy(
      parsePolicy(R"(name: "a" rules { from { ip_blocks: "x" } to { hosts: "a*b" } })"),
      "xds:AuthorizationPolicy/default/a", errors);
  EXPECT_EQ(policy, nullptr);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].field_path,
            "xds:AuthorizationPolicy/default/a.rules[0].from[0].ip_blocks[0]");
  EXPECT_EQ(errors[1].field_path, "xds:AuthorizationPolicy/default/a.rules[0].to[0].hosts[0]");
}

}  // namespace
}  // namespace weft::proxy::authz
