// The admin endpoint's list of certificate states against the identity layer's names: every
// phase must be listed, or /stats/prometheus would report it only as an unlisted state.
#include <gtest/gtest.h>

#include <algorithm>

#include "proxy/admin/certificate_status.h"
#include "proxy/identity/certificate_rotation.h"

namespace weft::proxy::admin {
namespace {

using identity::IdentityPhase;

TEST(CertificateStatesTest, EveryIdentityPhaseIsListedInOrder) {
  const auto last = static_cast<size_t>(IdentityPhase::kExpired);
  ASSERT_EQ(kCertificateStates.size(), last + 1);
  for (size_t phase = 0; phase <= last; ++phase) {
    EXPECT_EQ(identity::identityPhaseName(static_cast<IdentityPhase>(phase)),
              kCertificateStates[phase]);
  }
  // No phase after kExpired: a new one appended to the enum would have a name here.
  EXPECT_EQ(identity::identityPhaseName(static_cast<IdentityPhase>(last + 1)), "UNKNOWN");
}

}  // namespace
}  // namespace weft::proxy::admin
