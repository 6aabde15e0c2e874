// The evaluation order of authorization.proto and its stated consequences, on one filter chain.
#include "proxy/authz/policy_set.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "tests/unit/proxy/authz/authz_test_support.h"

namespace weft::proxy::authz {
namespace {

using testing::PolicyCatalog;
using testing::TestRequest;

PolicyCatalog catalog() {
  PolicyCatalog policies;
  policies.add(R"(name: "allow-none" action: ALLOW)")
      .add(R"(name: "allow-all" action: ALLOW rules {})")
      .add(R"(name: "deny-none" action: DENY)")
      .add(R"(name: "deny-all" action: DENY rules {})")
      .add(R"(name: "allow-get" rules { to { methods: "GET" } })")
      .add(R"(name: "allow-post" rules { to { methods: "POST" } })")
      .add(R"(name: "deny-admin" action: DENY rules { to { paths: "/admin" } })")
      .add(R"(name: "audit-all" action: AUDIT rules {})")
      .add(R"(name: "audit-admin" action: AUDIT rules { to { paths: "/admin*" } })")
      .add(R"(name: "dry-deny-admin" action: DENY dry_run: true
              rules { to { paths: "/admin" } })")
      .add(R"(name: "dry-allow-get" action: ALLOW dry_run: true
              rules { to { methods: "GET" } })")
      .add(R"(name: "dry-audit" action: AUDIT dry_run: true rules {})");
  return policies;
}

TEST(AuthorizationPolicySetTest, NoPoliciesAllowsByDefault) {
  const auto chain = catalog().chain({});
  const AuthorizationDecision decision = TestRequest().decide(chain);
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.reason, DecisionReason::kAllowedByDefault);
  EXPECT_EQ(decision.decided_by, "default-allow");
  EXPECT_EQ(decision.audit_match_count, 0u);
  EXPECT_FALSE(decision.dry_run_differs);
}

TEST(AuthorizationPolicySetTest, AllowWithNoRulesDeniesEverything) {
  const auto chain = catalog().chain({"allow-none"});
  const AuthorizationDecision decision = TestRequest().decide(chain);
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.reason, DecisionReason::kDeniedNoAllowMatched);
  EXPECT_EQ(decision.decided_by, "no-allow-match");
}

TEST(AuthorizationPolicySetTest, AllowWithOneEmptyRuleAllowsEverything) {
  const auto chain = catalog().chain({"allow-all"}, /*default_deny=*/true);
  TestRequest request;
  request.principal = "";
  request.method = "DELETE";
  const AuthorizationDecision decision = request.decide(chain);
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.reason, DecisionReason::kAllowedByPolicy);
  EXPECT_EQ(decision.decided_by, "allow-all");
}

TEST(AuthorizationPolicySetTest, DenyWithNoRulesHasNoEffect) {
  const auto chain = catalog().chain({"deny-none"});
  const AuthorizationDecision decision = TestRequest().decide(chain);
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.decided_by, "default-allow");
}

TEST(AuthorizationPolicySetTest, DenyWithOneEmptyRuleDeniesEverything) {
  // The decision names policies the chain owns: the chain must outlive it.
  const auto chain = catalog().chain({"allow-all", "deny-all"});
  const AuthorizationDecision decision = TestRequest().decide(chain);
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.reason, DecisionReason::kDeniedByPolicy);
  EXPECT_EQ(decision.decided_by, "deny-all");
}

TEST(AuthorizationPolicySetTest, MissingPolicyDeniesEverythingAndIsNamed) {
  const auto chain = catalog().chain({"allow-all", "ns/not-yet", "audit-all", "ns/later"});
  const AuthorizationDecision decision = TestRequest().decide(chain);
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.reason, DecisionReason::kDeniedMissingPolicy);
  EXPECT_EQ(decision.decided_by, "missing policy ns/not-yet");
  EXPECT_EQ(chain.missingPolicies(), (std::vector<std::string>{"ns/not-yet", "ns/later"}));
  // Audit still records.
  EXPECT_EQ(decision.audit_match_count, 1u);
  EXPECT_EQ(decision.audit_policies[0], "audit-all");
  EXPECT_FALSE(TestRequest().decideTcp(chain).allowed);
}

TEST(AuthorizationPolicySetTest, MissingPolicyIsNotOverriddenByDryRun) {
  const auto chain = catalog().chain({"missing", "dry-allow-get"}, /*default_deny=*/true);
  const AuthorizationDecision decision = TestRequest().decide(chain);
  EXPECT_FALSE(decision.allowed);
  EXPECT_FALSE(decision.dry_run_differs);
}

TEST(AuthorizationPolicySetTest, DenyIsEvaluatedBeforeAllow) {
  // Listed ALLOW first: order in the chain does not matter, the action does.
  const auto chain = catalog().chain({"allow-all", "deny-admin"});
  TestRequest request;
  request.path = "/admin";
  const AuthorizationDecision denied = request.decide(chain);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.decided_by, "deny-admin");
  request.path = "/public";
  const AuthorizationDecision allowed = request.decide(chain);
  EXPECT_TRUE(allowed.allowed);
  EXPECT_EQ(allowed.decided_by, "allow-all");
}

TEST(AuthorizationPolicySetTest, AnyAllowPolicyAllowsAndOthersAreDenied) {
  const auto chain = catalog().chain({"allow-get", "allow-post"});
  TestRequest request;
  request.method = "POST";
  EXPECT_TRUE(request.decide(chain).allowed);
  EXPECT_EQ(request.decide(chain).decided_by, "allow-post");
  request.method = "PUT";
  const AuthorizationDecision denied = request.decide(chain);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.reason, DecisionReason::kDeniedNoAllowMatched);
}

TEST(AuthorizationPolicySetTest, DefaultActionDeny) {
  const PolicyCatalog policies = catalog();
  TestRequest request;
  const AuthorizationDecision nothing_listed = request.decide(policies.chain({}, true));
  EXPECT_FALSE(nothing_listed.allowed);
  EXPECT_EQ(nothing_listed.reason, DecisionReason::kDeniedByDefault);
  EXPECT_EQ(nothing_listed.decided_by, "default-deny");
  // DENY and AUDIT policies do not open access.
  EXPECT_FALSE(request.decide(policies.chain({"deny-admin", "audit-all"}, true)).allowed);
  // ALLOW policies do.
  const AuthorizationDecision opened = request.decide(policies.chain({"allow-get"}, true));
  EXPECT_TRUE(opened.allowed);
  EXPECT_EQ(opened.decided_by, "allow-get");
  request.method = "POST";
  EXPECT_EQ(request.decide(policies.chain({"allow-get"}, true)).reason,
            DecisionReason::kDeniedNoAllowMatched);
}

TEST(AuthorizationPolicySetTest, AuditNeverChangesTheOutcomeButIsReported) {
  const PolicyCatalog policies = catalog();
  TestRequest request;
  request.path = "/admin/users";
  const AuthorizationDecision allowed =
      request.decide(policies.chain({"audit-all", "audit-admin"}));
  EXPECT_TRUE(allowed.allowed);
  EXPECT_EQ(allowed.decided_by, "default-allow");
  ASSERT_EQ(allowed.audit_match_count, 2u);
  EXPECT_EQ(allowed.listedAuditCount(), 2u);
  EXPECT_EQ(allowed.audit_policies[0], "audit-all");
  EXPECT_EQ(allowed.audit_policies[1], "audit-admin");
  // Under default-deny, matching AUDIT policies do not open access, and they are recorded on
  // denied requests too.
  const AuthorizationDecision denied =
      request.decide(policies.chain({"audit-all", "audit-admin"}, true));
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.audit_match_count, 2u);
  request.path = "/public";
  const AuthorizationDecision one = request.decide(policies.chain({"audit-all", "audit-admin"}));
  EXPECT_EQ(one.audit_match_count, 1u);
  EXPECT_EQ(one.audit_policies[0], "audit-all");
  // dry_run on an AUDIT policy changes nothing: it is still an audit.
  const AuthorizationDecision dry = request.decide(policies.chain({"dry-audit"}));
  EXPECT_TRUE(dry.allowed);
  EXPECT_EQ(dry.audit_match_count, 1u);
  EXPECT_FALSE(dry.dry_run_differs);
}

TEST(AuthorizationPolicySetTest, AuditMatchesBeyondTheListAreCounted) {
  PolicyCatalog policies;
  std::vector<std::string> names;
  for (int i = 0; i < 10; ++i) {
    names.push_back("audit-" + std::to_string(i));
    policies.add("name: \"" + names.back() + "\" action: AUDIT rules {}");
  }
  const AuthorizationDecision decision = TestRequest().decide(policies.chain(names));
  EXPECT_EQ(decision.audit_match_count, 10u);
  EXPECT_EQ(decision.listedAuditCount(), AuthorizationDecision::kMaxListedAudits);
  EXPECT_EQ(decision.audit_policies[7], "audit-7");
}

TEST(AuthorizationPolicySetTest, DryRunDenyIsReportedNotEnforced) {
  const auto chain = catalog().chain({"dry-deny-admin"});
  TestRequest request;
  request.path = "/admin/";
  const AuthorizationDecision decision = request.decide(chain);
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.decided_by, "default-allow");
  EXPECT_TRUE(decision.dry_run_differs);
  EXPECT_FALSE(decision.dry_run_allowed);
  EXPECT_EQ(decision.dry_run_policy, "dry-deny-admin");
  request.path = "/public";
  EXPECT_FALSE(request.decide(chain).dry_run_differs);
}

TEST(AuthorizationPolicySetTest, DryRunAllowWouldDenyWhatItDoesNotMatch) {
  const auto chain = catalog().chain({"dry-allow-get"});
  TestRequest request;
  request.method = "POST";
  const AuthorizationDecision decision = request.decide(chain);
  EXPECT_TRUE(decision.allowed);
  EXPECT_TRUE(decision.dry_run_differs);
  EXPECT_FALSE(decision.dry_run_allowed);
  EXPECT_EQ(decision.dry_run_policy, "dry-allow-get");
  request.method = "GET";
  EXPECT_FALSE(request.decide(chain).dry_run_differs);
}

TEST(AuthorizationPolicySetTest, DryRunAllowWouldAllowWhatIsDenied) {
  const PolicyCatalog policies = catalog();
  const TestRequest request;  // GET
  const AuthorizationDecision by_default = request.decide(policies.chain({"dry-allow-get"}, true));
  EXPECT_FALSE(by_default.allowed);
  EXPECT_EQ(by_default.decided_by, "default-deny");
  EXPECT_TRUE(by_default.dry_run_differs);
  EXPECT_TRUE(by_default.dry_run_allowed);
  EXPECT_EQ(by_default.dry_run_policy, "dry-allow-get");
  const AuthorizationDecision no_allow_match =
      request.decide(policies.chain({"allow-post", "dry-allow-get"}));
  EXPECT_FALSE(no_allow_match.allowed);
  EXPECT_TRUE(no_allow_match.dry_run_differs);
  EXPECT_TRUE(no_allow_match.dry_run_allowed);
}

TEST(AuthorizationPolicySetTest, DryRunThatAgreesIsNotReported) {
  const PolicyCatalog policies = catalog();
  TestRequest request;
  request.path = "/admin";
  // Already denied by an enforced DENY: the dry-run DENY adds nothing, nor could an ALLOW.
  EXPECT_FALSE(request.decide(policies.chain({"deny-admin", "dry-deny-admin", "dry-allow-get"}))
                   .dry_run_differs);
  // Already denied by default: a dry-run DENY agrees.
  EXPECT_FALSE(request.decide(policies.chain({"dry-deny-admin"}, true)).dry_run_differs);
  // Allowed by an enforced ALLOW, and a dry-run ALLOW that does not match changes nothing.
  request.path = "/";
  request.method = "POST";
  EXPECT_FALSE(request.decide(policies.chain({"allow-post", "dry-allow-get"})).dry_run_differs);
  // A dry-run DENY wins over an enforced ALLOW.
  request.path = "/admin";
  const AuthorizationDecision denied_later =
      request.decide(policies.chain({"allow-post", "dry-deny-admin"}));
  EXPECT_TRUE(denied_later.allowed);
  EXPECT_TRUE(denied_later.dry_run_differs);
  EXPECT_EQ(denied_later.dry_run_policy, "dry-deny-admin");
}

TEST(AuthorizationPolicySetTest, TcpAllowRuleUsingHttpFieldsNeverMatches) {
  PolicyCatalog policies;
  policies.add(R"(name: "allow-paths" rules { to { paths: "*" } })")
      .add(R"(name: "allow-not-methods" rules { to { not_methods: "DELETE" } })")
      .add(R"(name: "allow-hosts-and-ports" rules { to { hosts: "*" ports: 8080 } })")
      .add(R"(name: "allow-port-or-path" rules { to { ports: 8080 } to { paths: "/x" } })")
      .add(R"(name: "allow-header" rules { when { key: "request.headers[x-a]" not_values: "b" } })")
      .add(R"(name: "allow-port" rules { to { ports: 8080 } })")
      .add(R"(name: "allow-http-rule-or-port" rules { to { paths: "/x" } }
                                              rules { to { ports: 8080 } })");
  const TestRequest connection;
  for (const char* name : {"allow-paths", "allow-not-methods", "allow-hosts-and-ports",
                           "allow-port-or-path", "allow-header"}) {
    const AuthorizationDecision decision = connection.decideTcp(policies.chain({name}));
    EXPECT_FALSE(decision.allowed) << name;
    EXPECT_EQ(decision.reason, DecisionReason::kDeniedNoAllowMatched) << name;
    // The same policies on an HTTP request do match.
    EXPECT_TRUE(connection.decide(policies.chain({name})).allowed) << name;
  }
  EXPECT_TRUE(connection.decideTcp(policies.chain({"allow-port"})).allowed);
  // Only the rule that uses HTTP fields is skipped, not the policy.
  EXPECT_TRUE(connection.decideTcp(policies.chain({"allow-http-rule-or-port"})).allowed);
}

TEST(AuthorizationPolicySetTest, TcpDenyRuleIsEvaluatedWithoutHttpFields) {
  PolicyCatalog policies;
  policies.add(R"(name: "deny-admin" action: DENY rules { to { paths: "/admin" } })")
      .add(R"(name: "deny-admin-on-9090" action: DENY
              rules { to { paths: "/admin" ports: 9090 } })")
      .add(R"(name: "deny-header-from-prod" action: DENY
              rules { from { namespaces: "prod" }
                      when { key: "request.headers[x-a]" values: "b" } })")
      .add(R"(name: "deny-not-get" action: DENY rules { to { not_methods: "GET" } })");
  TestRequest connection;
  const AuthorizationDecision all = connection.decideTcp(policies.chain({"deny-admin"}));
  EXPECT_FALSE(all.allowed);
  EXPECT_EQ(all.decided_by, "deny-admin");
  EXPECT_FALSE(connection.decideTcp(policies.chain({"deny-not-get"})).allowed);
  // The other parts still count.
  EXPECT_TRUE(connection.decideTcp(policies.chain({"deny-admin-on-9090"})).allowed);
  connection.destination_port = 9090;
  EXPECT_FALSE(connection.decideTcp(policies.chain({"deny-admin-on-9090"})).allowed);
  EXPECT_TRUE(connection.decideTcp(policies.chain({"deny-header-from-prod"})).allowed);
  connection.principal = "spiffe://cluster.local/ns/prod/sa/x";
  EXPECT_FALSE(connection.decideTcp(policies.chain({"deny-header-from-prod"})).allowed);
}

TEST(AuthorizationPolicySetTest, TcpAuditRuleIsEvaluatedWithoutHttpFields) {
  PolicyCatalog policies;
  policies.add(R"(name: "audit-admin" action: AUDIT rules { to { paths: "/admin" } })");
  const AuthorizationDecision decision = TestRequest().decideTcp(policies.chain({"audit-admin"}));
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.audit_match_count, 1u);
}

TEST(AuthorizationPolicySetTest, TcpDryRunFollowsTheSameRules) {
  PolicyCatalog policies;
  policies.add(R"(name: "dry-deny-admin" action: DENY dry_run: true
                  rules { to { paths: "/admin" } })");
  const AuthorizationDecision decision =
      TestRequest().decideTcp(policies.chain({"dry-deny-admin"}));
  EXPECT_TRUE(decision.allowed);
  EXPECT_TRUE(decision.dry_run_differs);
  EXPECT_EQ(decision.dry_run_policy, "dry-deny-admin");
}

TEST(AuthorizationPolicySetTest, DecisionNamesOutliveTheIndex) {
  std::optional<AuthorizationPolicySet> chain;
  {
    PolicyCatalog policies;
    policies.add(R"(name: "a-rather-long-policy-name-beyond-small-strings" rules {})");
    chain.emplace(policies.chain({"a-rather-long-policy-name-beyond-small-strings", "gone"}));
  }
  const AuthorizationDecision decision = TestRequest().decide(*chain);
  EXPECT_EQ(decision.decided_by, "missing policy gone");
  PolicyCatalog policies;
  policies.add(R"(name: "a-rather-long-policy-name-beyond-small-strings" rules {})");
  chain.emplace(policies.chain({"a-rather-long-policy-name-beyond-small-strings"}));
  policies = PolicyCatalog();
  EXPECT_EQ(TestRequest().decide(*chain).decided_by,
            "a-rather-long-policy-name-beyond-small-strings");
}

}  // namespace
}  // namespace weft::proxy::authz
