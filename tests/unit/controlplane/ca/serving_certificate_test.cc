// The control plane's serving certificate: signed by the mesh CA for the names a proxy dials,
// a server certificate only, never outliving the CA.

#include "controlplane/ca/serving_certificate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include "ca_test_support.h"
#include "controlplane/ca/certificate_authority.h"
#include "controlplane/ca/directory_ca_storage.h"

namespace weft::controlplane::ca {
namespace {

using namespace testing;  // NOLINT: the CA test fixtures
using std::chrono::hours;
using std::chrono::sys_seconds;

SigningMaterialPtr generatedMaterial(const TempDir& dir) {
  CertificateAuthorityOptions options;
  options.clock = [] { return std::chrono::system_clock::time_point(fixedNow()); };
  CertificateAuthority authority(std::make_unique<DirectoryCaStorage>(dir.path()), options);
  EXPECT_EQ(authority.start(), "");
  return authority.material();
}

std::vector<std::string> namesOfType(const X509& cert, int type) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(&cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != type) {
      continue;
    }
    const ASN1_STRING* value = type == GEN_DNS ? name->d.dNSName : name->d.iPAddress;
    const auto* data = ASN1_STRING_get0_data(value);
    const int length = ASN1_STRING_length(value);
    if (type == GEN_IPADD && length == 4) {
      out.push_back(std::to_string(data[0]) + "." + std::to_string(data[1]) + "." +
                    std::to_string(data[2]) + "." + std::to_string(data[3]));
    } else if (type == GEN_IPADD) {
      out.push_back("ipv6/" + std::to_string(length));
    } else {
      out.emplace_back(reinterpret_cast<const char*>(data), static_cast<size_t>(length));
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

TEST(ServingCertificateTest, NamesTheHostsAndIsAServerCertificateFromTheMeshCa) {
  TempDir dir;
  const SigningMaterialPtr material = generatedMaterial(dir);
  ASSERT_NE(material, nullptr);
  const std::vector<std::string> hosts = {"weft-controlplane.weft-system.svc", "127.0.0.1", "::1"};
  auto issued = issueServingCredentials(*material, hosts, fixedNow(), hours(24));
  ASSERT_TRUE(issued.ok()) << issued.error();

  auto chain = parseCerts(issued->chain_pem);
  ASSERT_EQ(chain.size(), 1u);  // the generated root signs directly
  const X509& leaf = *chain[0];
  EXPECT_EQ(namesOfType(leaf, GEN_DNS),
            std::vector<std::string>{"weft-controlplane.weft-system.svc"});
  EXPECT_EQ(namesOfType(leaf, GEN_IPADD), (std::vector<std::string>{"127.0.0.1", "ipv6/16"}));
  EXPECT_TRUE(namesOfType(leaf, GEN_URI).empty());  // not a workload identity
  EXPECT_EQ(
      X509_check_host(const_cast<X509*>(&leaf), "weft-controlplane.weft-system.svc", 0, 0, nullptr),
      1);
  EXPECT_EQ(X509_check_ip_asc(const_cast<X509*>(&leaf), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_host(const_cast<X509*>(&leaf), "other.weft-system.svc", 0, 0, nullptr), 0);

  // A server certificate only: not a CA, not usable as a client.
  EXPECT_EQ(X509_check_ca(const_cast<X509*>(&leaf)), 0);
  EXPECT_EQ(X509_check_purpose(const_cast<X509*>(&leaf), X509_PURPOSE_SSL_SERVER, 0), 1);
  EXPECT_EQ(X509_check_purpose(const_cast<X509*>(&leaf), X509_PURPOSE_SSL_CLIENT, 0), 0);

  // Signed by the mesh root, and the key is the certificate's.
  auto roots = parseCerts(material->trust_bundle_pem);
  ASSERT_FALSE(roots.empty());
  EXPECT_EQ(X509_verify(const_cast<X509*>(&leaf), X509_get0_pubkey(roots[0].get())), 1);
  auto key = tls::readPrivateKeyPem(issued->key_pem);
  ASSERT_TRUE(key.ok()) << key.error();
  EXPECT_TRUE(tls::certificateMatchesKey(leaf, **key));

  EXPECT_EQ(issued->not_before, fixedNow() - std::chrono::minutes(1));
  EXPECT_EQ(issued->not_after, fixedNow() + hours(24));
}

TEST(ServingCertificateTest, NeverOutlivesTheCa) {
  TempDir dir;
  const SigningMaterialPtr material = generatedMaterial(dir);
  ASSERT_NE(material, nullptr);
  const std::vector<std::string> hosts = {"localhost"};
  const sys_seconds near_end = material->not_after - hours(2);
  auto issued = issueServingCredentials(*material, hosts, near_end, hours(24));
  ASSERT_TRUE(issued.ok()) << issued.error();
  EXPECT_EQ(issued->not_after, material->not_after);

  auto expired = issueServingCredentials(*material, hosts, material->not_after, hours(24));
  ASSERT_FALSE(expired.ok());
  EXPECT_THAT(expired.error(), ::testing::HasSubstr("expired"));
}

TEST(ServingCertificateTest, RefusesToNameNothing) {
  TempDir dir;
  const SigningMaterialPtr material = generatedMaterial(dir);
  ASSERT_NE(material, nullptr);
  auto issued = issueServingCredentials(*material, {}, fixedNow(), hours(24));
  ASSERT_FALSE(issued.ok());
  EXPECT_THAT(issued.error(), ::testing::HasSubstr("at least one DNS name or IP address"));
}

}  // namespace
}  // namespace weft::controlplane::ca
