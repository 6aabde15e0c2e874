#include "proxy/identity/workload_certificate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/tls/key.h"
#include "proxy/identity/identity_secrets.h"
#include "test_authority.h"

namespace weft::proxy::identity {
namespace {

using std::chrono::hours;
using std::chrono::seconds;
using ::testing::HasSubstr;
using testing::TestAuthority;

const std::string kId = "spiffe://cluster.local/ns/default/sa/reviews";

class AcceptIssuedCertificateTest : public ::testing::Test {
 protected:
  weft::v1::CreateCertificateResponse issue(const std::string& id = kId) const {
    return authority_.signKey(*key_, id, now_ - seconds(60), now_ + hours(1));
  }

  tls::Result<WorkloadCertificate> accept(const weft::v1::CreateCertificateResponse& response,
                                          ExpectedIdentity expected = {"default", "reviews"}) {
    return acceptIssuedCertificate(response, *key_, expected, now_);
  }

  std::chrono::sys_seconds now_ = std::chrono::floor<seconds>(std::chrono::system_clock::now());
  TestAuthority authority_;
  tls::EvpPkeyPtr key_ = tls::generateEcdsaP256Key().value();
};

TEST_F(AcceptIssuedCertificateTest, TakesAGoodAnswer) {
  auto accepted = accept(issue());
  ASSERT_TRUE(accepted) << accepted.error();
  EXPECT_EQ(accepted->spiffe_id, kId);
  EXPECT_EQ(accepted->trust_domain, "cluster.local");
  EXPECT_EQ(accepted->key_type, "EC P-256");
  EXPECT_EQ(accepted->chain_length, 1u);
  EXPECT_EQ(accepted->validity.not_after, now_ + hours(1));
  EXPECT_FALSE(accepted->serial.empty());
  EXPECT_TRUE(accepted->private_key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
  EXPECT_TRUE(accepted->certificate_chain_pem.starts_with("-----BEGIN CERTIFICATE-----"));
  EXPECT_EQ(accepted->trust_bundle_pem, authority_.rootPem());
}

TEST_F(AcceptIssuedCertificateTest, AnyIdentityWhenTheNodeDoesNotSayWhichToExpect) {
  EXPECT_TRUE(accept(issue("spiffe://example.org/ns/shop/sa/cart"), {}));
}

TEST_F(AcceptIssuedCertificateTest, RefusesAnotherNamespaceOrServiceAccount) {
  auto accepted = accept(issue("spiffe://cluster.local/ns/default/sa/ratings"));
  ASSERT_FALSE(accepted);
  EXPECT_THAT(accepted.error(), HasSubstr("/ns/default/sa/reviews"));
}

TEST_F(AcceptIssuedCertificateTest, RefusesACertificateForAnotherKey) {
  auto other = tls::generateEcdsaP256Key().value();
  auto response = authority_.signKey(*other, kId, now_ - seconds(60), now_ + hours(1));
  auto accepted = accept(response);
  ASSERT_FALSE(accepted);
  EXPECT_THAT(accepted.error(), HasSubstr("not for the key"));
}

TEST_F(AcceptIssuedCertificateTest, RefusesAnExpiredCertificate) {
  auto response = authority_.signKey(*key_, kId, now_ - hours(2), now_ - hours(1));
  auto accepted = accept(response);
  ASSERT_FALSE(accepted);
  EXPECT_THAT(accepted.error(), HasSubstr("expired"));
}

TEST_F(AcceptIssuedCertificateTest, RefusesACertificateWithoutASpiffeId) {
  EXPECT_FALSE(accept(issue(""), {}));
  EXPECT_FALSE(accept(issue("https://example.org/ns/default/sa/reviews"), {}));
}

TEST_F(AcceptIssuedCertificateTest, RefusesACertificateTheBundleDoesNotVouchFor) {
  auto response = issue();
  TestAuthority stranger;
  response.set_trust_bundle(stranger.rootPem());
  auto accepted = accept(response);
  ASSERT_FALSE(accepted);
  EXPECT_THAT(accepted.error(), HasSubstr("does not verify"));
}

TEST_F(AcceptIssuedCertificateTest, RefusesGarbageWithoutCrashing) {
  weft::v1::CreateCertificateResponse empty;
  EXPECT_FALSE(accept(empty));

  auto response = issue();
  response.set_certificate_chain(0, "-----BEGIN CERTIFICATE-----\nnot base64\n");
  EXPECT_FALSE(accept(response));

  response = issue();
  response.set_trust_bundle("no pem here");
  EXPECT_FALSE(accept(response));

  response = issue();
  response.set_certificate_chain(0, std::string(20000, '\0'));
  EXPECT_FALSE(accept(response));

  response = issue();
  for (int i = 0; i < 11; ++i) {
    response.add_certificate_chain(response.certificate_chain(0));
  }
  EXPECT_FALSE(accept(response));  // more than ca.proto allows
}

TEST_F(AcceptIssuedCertificateTest, RefusesATrustDomainSecretsCannotCarry) {
  EXPECT_FALSE(accept(issue("spiffe://Bad_Domain./ns/default/sa/reviews"), {}));
}

TEST(IdentitySecretsTest, IdentityInlineAndTheTrustBundleWithItsTrustDomain) {
  WorkloadCertificate certificate;
  certificate.certificate_chain_pem = "chain";
  certificate.private_key_pem = "key";
  certificate.trust_bundle_pem = "roots";
  certificate.trust_domain = "cluster.local";
  auto secrets = identitySecrets(certificate, true);
  ASSERT_EQ(secrets.size(), 2u);
  EXPECT_EQ(secrets[0].name(), "identity");
  EXPECT_EQ(secrets[0].tls_certificate().certificate_chain(), "chain");
  EXPECT_EQ(secrets[0].tls_certificate().private_key(), "key");
  EXPECT_EQ(secrets[1].name(), "trust-bundle");
  EXPECT_EQ(secrets[1].validation_context().trusted_ca(), "roots");
  EXPECT_EQ(secrets[1].validation_context().trust_domain(), "cluster.local");

  auto withdrawn = identitySecrets(certificate, false);
  ASSERT_EQ(withdrawn.size(), 1u);
  EXPECT_EQ(withdrawn[0].name(), "trust-bundle");
}

TEST(IdentitySecretsTest, ASecretAlreadyInTheConfigurationWins) {
  weft::v1::Bootstrap config;
  auto* own = config.mutable_static_resources()->add_secrets();
  own->set_name("trust-bundle");
  own->mutable_validation_context()->set_trusted_ca_file("/etc/mesh/roots.pem");
  WorkloadCertificate certificate;
  certificate.trust_domain = "cluster.local";
  addMissingSecrets(identitySecrets(certificate, true), config);
  ASSERT_EQ(config.static_resources().secrets_size(), 2);
  EXPECT_EQ(config.static_resources().secrets(0).validation_context().trusted_ca_file(),
            "/etc/mesh/roots.pem");
  EXPECT_EQ(config.static_resources().secrets(1).name(), "identity");
}

}  // namespace
}  // namespace weft::proxy::identity
