#include "controlplane/ca/csr_check.h"

#include <gtest/gtest.h>

#include "controlplane/ca/key_policy.h"
#include "tests/unit/controlplane/ca/ca_test_support.h"

namespace weft::controlplane::ca {
namespace {

using namespace testing;

constexpr const char* kId = "spiffe://cluster.local/ns/default/sa/reviews";

Rejection rejectionOf(const Decision<tls::EvpPkeyPtr>& decision) {
  if (!std::holds_alternative<Rejection>(decision)) {
    ADD_FAILURE() << "the CSR was accepted";
    return {RejectReason::kInternal, ""};
  }
  return std::get<Rejection>(decision);
}

TEST(CsrCheckTest, AcceptsTheAllowedKeysAndReturnsTheKey) {
  for (auto [algorithm, parameter] : {std::pair{"EC", "P-256"}, std::pair{"EC", "P-384"},
                                      std::pair{"RSA", "2048"}, std::pair{"RSA", "3072"}}) {
    tls::EvpPkeyPtr key = makeKey(algorithm, parameter);
    auto decision = checkCsr(makeCsrPem(key.get()), kId);
    ASSERT_TRUE(std::holds_alternative<tls::EvpPkeyPtr>(decision))
        << algorithm << " " << parameter << ": " << std::get<Rejection>(decision).message;
    EXPECT_EQ(EVP_PKEY_eq(std::get<tls::EvpPkeyPtr>(decision).get(), key.get()), 1);
  }
}

TEST(CsrCheckTest, RefusesWeakOrUnsupportedKeys) {
  tls::EvpPkeyPtr rsa1024 = makeKey("RSA", "1024");
  Rejection weak = rejectionOf(checkCsr(makeCsrPem(rsa1024.get()), kId));
  EXPECT_EQ(weak.reason, RejectReason::kUnsupportedKey);
  EXPECT_NE(weak.message.find("RSA 1024"), std::string::npos) << weak.message;

  tls::EvpPkeyPtr p521 = makeKey("EC", "P-521");
  EXPECT_EQ(rejectionOf(checkCsr(makeCsrPem(p521.get()), kId)).reason,
            RejectReason::kUnsupportedKey);
  tls::EvpPkeyPtr secp256k1 = makeKey("EC", "secp256k1");
  EXPECT_EQ(rejectionOf(checkCsr(makeCsrPem(secp256k1.get()), kId)).reason,
            RejectReason::kUnsupportedKey);
}

TEST(CsrCheckTest, KeyPolicyDescribesWhatItRefuses) {
  EXPECT_EQ(keyPolicyViolation(*makeKey("EC", "P-256")), std::nullopt);
  EXPECT_EQ(keyPolicyViolation(*makeKey("RSA", "2048")), std::nullopt);
  EXPECT_EQ(*keyPolicyViolation(*makeKey("ED25519", nullptr)),
            "ED25519: the key must be ECDSA (P-256, P-384) or RSA (2048 bits or more)");
  EXPECT_EQ(*keyPolicyViolation(*makeKey("EC", "P-521")),
            "EC P-521: ECDSA keys must be on P-256 or P-384");
}

TEST(CsrCheckTest, RefusesACsrNotSignedByItsKey) {
  tls::EvpPkeyPtr key = p256Key();
  tls::EvpPkeyPtr other = p256Key();
  Rejection rejection = rejectionOf(checkCsr(makeCsrPem(key.get(), {}, other.get()), kId));
  EXPECT_EQ(rejection.reason, RejectReason::kBadCsrSignature);
  EXPECT_NE(rejection.message.find("signature does not verify"), std::string::npos);
}

TEST(CsrCheckTest, RefusesGarbageWithoutCrashing) {
  for (const char* pem : {"", "garbage", "-----BEGIN CERTIFICATE REQUEST-----\n",
                          "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n"
                          "-----END CERTIFICATE REQUEST-----\n",
                          "-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n"
                          "-----END CERTIFICATE REQUEST-----\n"}) {
    EXPECT_EQ(rejectionOf(checkCsr(pem, kId)).reason, RejectReason::kMalformedCsr) << pem;
  }
  // A certificate where a CSR belongs.
  EXPECT_EQ(
      rejectionOf(checkCsr("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", kId))
          .reason,
      RejectReason::kMalformedCsr);
}

TEST(CsrCheckTest, UriSansMustBeExactlyTheCallersId) {
  tls::EvpPkeyPtr key = p256Key();
  // None, or exactly the caller's: fine.
  EXPECT_TRUE(std::holds_alternative<tls::EvpPkeyPtr>(checkCsr(makeCsrPem(key.get()), kId)));
  EXPECT_TRUE(std::holds_alternative<tls::EvpPkeyPtr>(checkCsr(makeCsrPem(key.get(), {kId}), kId)));

  Rejection other = rejectionOf(
      checkCsr(makeCsrPem(key.get(), {"spiffe://cluster.local/ns/kube-system/sa/admin"}), kId));
  EXPECT_EQ(other.reason, RejectReason::kIdentityMismatch);
  EXPECT_NE(other.message.find("ns/kube-system/sa/admin"), std::string::npos) << other.message;

  EXPECT_EQ(
      rejectionOf(checkCsr(makeCsrPem(key.get(), {kId, "spiffe://cluster.local/ns/x/sa/y"}), kId))
          .reason,
      RejectReason::kIdentityMismatch);
  // Even twice the caller's own id: a workload certificate carries one.
  EXPECT_EQ(rejectionOf(checkCsr(makeCsrPem(key.get(), {kId, kId}), kId)).reason,
            RejectReason::kIdentityMismatch);
  // Another trust domain, or a prefix of the id, is another identity.
  EXPECT_EQ(
      rejectionOf(checkCsr(makeCsrPem(key.get(), {"spiffe://evil.org/ns/default/sa/reviews"}), kId))
          .reason,
      RejectReason::kIdentityMismatch);
  EXPECT_EQ(rejectionOf(checkCsr(makeCsrPem(key.get(), {std::string(kId) + "x"}), kId)).reason,
            RejectReason::kIdentityMismatch);
}

TEST(CsrCheckTest, CsrSubjectDoesNotMatter) {
  // The subject names someone else: irrelevant, the identity comes from the credential.
  tls::EvpPkeyPtr key = p256Key();
  EXPECT_TRUE(std::holds_alternative<tls::EvpPkeyPtr>(
      checkCsr(makeCsrPem(key.get(), {}, nullptr, "spiffe://cluster.local/ns/x/sa/admin"), kId)));
}

}  // namespace
}  // namespace weft::controlplane::ca
