// The security counters as /stats/prometheus reads them.
#include "proxy/stats/security_counters.h"

#include <gtest/gtest.h>

namespace weft::proxy {
namespace {

TEST(SecurityCountersTest, LoadReadsEachCounterIntoItsField) {
  SecurityCounters counters;
  count(counters.tls_handshake_failures);
  for (int i = 0; i < 2; ++i) {
    count(counters.tls_plaintext_refused);
  }
  counters.tls_unavailable = 3;
  counters.upstream_tls_failures = 4;
  counters.authz_denied = 5;
  counters.authz_audit = 6;
  counters.authz_dry_run = 7;
  const SecurityCounterValues values = counters.load();
  EXPECT_EQ(values.tls_handshake_failures, 1u);
  EXPECT_EQ(values.tls_plaintext_refused, 2u);
  EXPECT_EQ(values.tls_unavailable, 3u);
  EXPECT_EQ(values.upstream_tls_failures, 4u);
  EXPECT_EQ(values.authz_denied, 5u);
  EXPECT_EQ(values.authz_audit, 6u);
  EXPECT_EQ(values.authz_dry_run, 7u);
}

TEST(SecurityCountersTest, TheProcessWideCountersAreOneInstance) {
  EXPECT_EQ(&securityCounters(), &securityCounters());
}

}  // namespace
}  // namespace weft::proxy
