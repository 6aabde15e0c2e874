// What authorizing a connection records: every AUDIT match counts, not just the ones the
// decision names, and a denial counts once.
#include "proxy/authz/request_authorization.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/stats/security_counters.h"
#include "tests/unit/proxy/authz/authz_test_support.h"

namespace weft::proxy {
namespace {

using authz::testing::PolicyCatalog;

TEST(RequestAuthorizationTest, EveryAuditMatchCountsAndADenialCountsOnce) {
  PolicyCatalog policies;
  std::vector<std::string> names;
  for (int i = 0; i < 10; ++i) {  // more than a decision lists by name
    names.push_back("audit-" + std::to_string(i));
    policies.add("name: \"" + names.back() + "\" action: AUDIT rules {}");
  }
  policies.add(R"(name: "deny-all" action: DENY rules {})");
  DownstreamPeer peer;
  peer.principal = "spiffe://cluster.local/ns/default/sa/client";

  const SecurityCounterValues before = securityCounters().load();
  EXPECT_TRUE(authorizeConnection(policies.chain(names), peer, "inbound"));
  names.push_back("deny-all");
  EXPECT_FALSE(authorizeConnection(policies.chain(names), peer, "inbound"));
  const SecurityCounterValues after = securityCounters().load();

  EXPECT_EQ(after.authz_audit - before.authz_audit, 20u);
  EXPECT_EQ(after.authz_denied - before.authz_denied, 1u);
}

}  // namespace
}  // namespace weft::proxy
