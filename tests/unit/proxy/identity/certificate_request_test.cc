#include "proxy/identity/certificate_request.h"

#include <gtest/gtest.h>

#include "common/tls/csr.h"
#include "common/tls/key.h"
#include "common/tls/pem.h"

namespace weft::proxy::identity {
namespace {

weft::v1::Node node() {
  weft::v1::Node out;
  out.set_id("reviews-v1-abc.default");
  out.set_workload_name("reviews-v1");
  out.set_namespace_("default");
  out.set_service_account("reviews");
  return out;
}

TEST(MakeCsrTest, IsSignedWithTheKeyAndAsksForNoNameByDefault) {
  auto key = tls::generateEcdsaP256Key().value();
  auto csr = tls::makeCsr(*key, "");
  ASSERT_TRUE(csr) << csr.error();
  auto public_key = tls::verifiedCsrPublicKey(**csr);
  ASSERT_TRUE(public_key) << public_key.error();
  EXPECT_EQ(EVP_PKEY_eq(public_key->get(), key.get()), 1);
  EXPECT_TRUE(tls::csrUriSans(**csr)->empty());
  // An empty subject: the CA names the workload.
  EXPECT_EQ(X509_NAME_entry_count(X509_REQ_get_subject_name(csr->get())), 0);
}

TEST(MakeCsrTest, CarriesTheRequestedUriLiterally) {
  auto key = tls::generateEcdsaP256Key().value();
  const std::string id = "spiffe://cluster.local/ns/default/sa/reviews,URI:spiffe://evil";
  auto csr = tls::makeCsr(*key, id);
  ASSERT_TRUE(csr) << csr.error();
  auto uris = tls::csrUriSans(**csr);
  ASSERT_TRUE(uris) << uris.error();
  EXPECT_EQ(*uris, std::vector<std::string>{id});
  // Round trip through PEM, as the CA reads it.
  auto parsed = tls::readCsrPem(*tls::writeCsrPem(**csr));
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(tls::verifiedCsrPublicKey(**parsed));
  EXPECT_EQ(*tls::csrUriSans(**parsed), std::vector<std::string>{id});
}

TEST(MakeCsrTest, SignsP384AndRsaKeys) {
  for (auto& key : {tls::generateEcdsaP384Key(), tls::generateRsaKey(2048)}) {
    ASSERT_TRUE(key) << key.error();
    auto csr = tls::makeCsr(**key, "");
    ASSERT_TRUE(csr) << csr.error();
    EXPECT_TRUE(tls::verifiedCsrPublicKey(**csr));
  }
  EXPECT_FALSE(tls::generateRsaKey(1024));
}

TEST(CertificateRequestTest, HoldsAPemCsrForItsOwnKeyTheValidityAndAuditMetadata) {
  CaClientConfig config;
  config.validity = std::chrono::seconds(7200);
  auto request = makeCertificateRequest(config, node());
  ASSERT_TRUE(request) << request.error();
  const auto& message = request->message;
  EXPECT_TRUE(message.csr().starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
  EXPECT_EQ(message.csr().find("PRIVATE KEY"), std::string::npos);
  auto csr = tls::readCsrPem(message.csr());
  ASSERT_TRUE(csr);
  auto public_key = tls::verifiedCsrPublicKey(**csr);
  ASSERT_TRUE(public_key);
  EXPECT_EQ(EVP_PKEY_eq(public_key->get(), request->key.get()), 1);
  EXPECT_EQ(tls::describeKey(*request->key), "EC P-256");
  EXPECT_EQ(message.validity().seconds(), 7200);
  const auto& metadata = message.metadata().fields();
  EXPECT_EQ(metadata.at("node_id").string_value(), "reviews-v1-abc.default");
  EXPECT_EQ(metadata.at("workload").string_value(), "reviews-v1");
  EXPECT_EQ(metadata.at("namespace").string_value(), "default");
  EXPECT_EQ(metadata.at("service_account").string_value(), "reviews");
  EXPECT_FALSE(metadata.at("proxy_version").string_value().empty());
}

TEST(CertificateRequestTest, EachRequestHasAFreshKey) {
  CaClientConfig config;
  auto first = makeCertificateRequest(config, node());
  auto second = makeCertificateRequest(config, node());
  ASSERT_TRUE(first && second);
  EXPECT_NE(EVP_PKEY_eq(first->key.get(), second->key.get()), 1);
}

TEST(CertificateRequestTest, UsesTheConfiguredKeyType) {
  CaClientConfig config;
  config.key_type = weft::v1::CertificateAuthorityConfig::ECDSA_P384;
  auto request = makeCertificateRequest(config, node());
  ASSERT_TRUE(request) << request.error();
  EXPECT_EQ(tls::describeKey(*request->key), "EC P-384");
}

}  // namespace
}  // namespace weft::proxy::identity
