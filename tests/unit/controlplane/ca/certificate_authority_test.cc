#include "controlplane/ca/certificate_authority.h"

#include <gtest/gtest.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>

#include "common/tls/certificate.h"
#include "common/tls/certificate_builder.h"
#include "controlplane/ca/directory_ca_storage.h"
#include "controlplane/ca/root_certificate.h"
#include "tests/unit/controlplane/ca/ca_test_support.h"

namespace weft::controlplane::ca {
namespace {

using namespace std::chrono;
using namespace testing;

constexpr const char* kReviewsId = "spiffe://cluster.local/ns/default/sa/reviews";
const WorkloadIdentity kReviews{"default", "reviews"};

CertificateAuthorityOptions fixedClockOptions(sys_seconds now = fixedNow()) {
  CertificateAuthorityOptions options;
  options.clock = [now] { return system_clock::time_point(now); };
  return options;
}

std::unique_ptr<CertificateAuthority> startedCa(const std::string& directory,
                                                CertificateAuthorityOptions options) {
  auto ca = std::make_unique<CertificateAuthority>(std::make_unique<DirectoryCaStorage>(directory),
                                                   std::move(options));
  const std::string error = ca->start();
  EXPECT_EQ(error, "");
  ca->setTrustDomain("cluster.local");
  return ca;
}

IssuedCertificate issueOk(const CertificateAuthority& ca, const std::string& csr,
                          std::optional<seconds> validity = std::nullopt,
                          const WorkloadIdentity& identity = kReviews) {
  auto decision = ca.issue(IssueRequest{identity, csr, validity});
  if (auto* rejection = std::get_if<Rejection>(&decision)) {
    ADD_FAILURE() << reasonLabel(rejection->reason) << ": " << rejection->message;
    return {};
  }
  return std::get<IssuedCertificate>(std::move(decision));
}

// The extension's criticality, or -1 when absent.
int criticality(const X509& cert, int nid) {
  const int index = X509_get_ext_by_NID(&cert, nid, -1);
  return index < 0 ? -1 : X509_EXTENSION_get_critical(X509_get_ext(&cert, index));
}

class CertificateAuthorityTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(CertificateAuthorityTest, IssuesAnX509SvidWithExactlyTheSpiffeProfile) {
  auto ca = startedCa(dir_.path(), fixedClockOptions());
  tls::EvpPkeyPtr key = p256Key();
  IssuedCertificate issued = issueOk(*ca, makeCsrPem(key.get()));
  ASSERT_EQ(issued.chain_pem.size(), 1u);  // signed by the root directly: no intermediates
  tls::X509Ptr leaf = parseCert(issued.chain_pem[0]);
  ASSERT_NE(leaf, nullptr);

  // Identity: one URI SAN from the credential, empty subject (the CSR's CN is not copied).
  auto uris = tls::uriSans(*leaf);
  ASSERT_TRUE(uris.ok());
  EXPECT_EQ(*uris, std::vector<std::string>{kReviewsId});
  EXPECT_EQ(issued.spiffe_id, kReviewsId);
  EXPECT_EQ(X509_NAME_entry_count(X509_get_subject_name(leaf.get())), 0);
  EXPECT_EQ(criticality(*leaf, NID_subject_alt_name), 1);
  GENERAL_NAMES* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(leaf.get(), NID_subject_alt_name, nullptr, nullptr));
  ASSERT_NE(names, nullptr);
  EXPECT_EQ(sk_GENERAL_NAME_num(names), 1);  // no DNS or other names either
  GENERAL_NAMES_free(names);

  // Not a CA; signs only; serves and dials.
  EXPECT_EQ(criticality(*leaf, NID_basic_constraints), 1);
  EXPECT_EQ(X509_check_ca(leaf.get()), 0);
  EXPECT_EQ(criticality(*leaf, NID_key_usage), 1);
  EXPECT_EQ(X509_get_key_usage(leaf.get()), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_EQ(X509_get_extended_key_usage(leaf.get()),
            static_cast<uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT));
  EXPECT_NE(X509_get0_subject_key_id(leaf.get()), nullptr);
  tls::X509Ptr root = parseCert(issued.trust_bundle_pem);
  ASSERT_NE(root, nullptr);
  ASSERT_NE(X509_get0_authority_key_id(leaf.get()), nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(leaf.get()),
                                  X509_get0_subject_key_id(root.get())),
            0);
  EXPECT_EQ(X509_get_version(leaf.get()), X509_VERSION_3);

  // The CSR's key, certified.
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(leaf.get()), key.get()), 1);

  // A positive serial of up to 128 bits, different for each certificate.
  BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf.get()), nullptr);
  ASSERT_NE(serial, nullptr);
  EXPECT_FALSE(BN_is_negative(serial));
  EXPECT_FALSE(BN_is_zero(serial));
  EXPECT_LE(BN_num_bits(serial), 128);
  BN_free(serial);
  IssuedCertificate again = issueOk(*ca, makeCsrPem(key.get()));
  EXPECT_NE(again.serial, issued.serial);
}

TEST_F(CertificateAuthorityTest, LeafVerifiesToTheRootInTheTrustBundle) {
  auto ca = startedCa(dir_.path(), fixedClockOptions());
  tls::EvpPkeyPtr key = p256Key();
  IssuedCertificate issued = issueOk(*ca, makeCsrPem(key.get()));
  tls::X509Ptr leaf = parseCert(issued.chain_pem[0]);
  std::vector<tls::X509Ptr> roots = parseCerts(issued.trust_bundle_pem);
  ASSERT_EQ(roots.size(), 1u);
  auto path = tls::verifiedChain(*leaf, {}, roots, fixedNow());
  ASSERT_TRUE(path.ok()) << path.error();
  EXPECT_EQ(path->size(), 2u);

  // The check has teeth: another CA's root does not verify it.
  TempDir other_dir;
  auto other = startedCa(other_dir.path(), fixedClockOptions());
  std::vector<tls::X509Ptr> other_roots = parseCerts(other->material()->trust_bundle_pem);
  EXPECT_FALSE(tls::verifiedChain(*leaf, {}, other_roots, fixedNow()).ok());
}

TEST_F(CertificateAuthorityTest, ValidityIsRequestedCappedAndBackdated) {
  CertificateAuthorityOptions options = fixedClockOptions();
  options.max_validity = hours(24);
  auto ca = startedCa(dir_.path(), options);
  tls::EvpPkeyPtr key = p256Key();
  const std::string csr = makeCsrPem(key.get());

  auto validityOf = [&](const IssuedCertificate& issued) {
    tls::X509Ptr leaf = parseCert(issued.chain_pem[0]);
    auto validity = tls::certificateValidity(*leaf);
    EXPECT_TRUE(validity.ok());
    EXPECT_EQ(validity->not_after, issued.not_after);
    return *validity;
  };
  // Requested 1h: granted as asked, starting a minute early for clock skew.
  auto one_hour = validityOf(issueOk(*ca, csr, hours(1)));
  EXPECT_EQ(one_hour.not_before, fixedNow() - minutes(1));
  EXPECT_EQ(one_hour.not_after, fixedNow() + hours(1));
  // Requested 30 days: capped at the maximum.
  EXPECT_EQ(validityOf(issueOk(*ca, csr, days(30))).not_after, fixedNow() + hours(24));
  // Unset: the maximum.
  EXPECT_EQ(validityOf(issueOk(*ca, csr)).not_after, fixedNow() + hours(24));
}

TEST_F(CertificateAuthorityTest, ValidityNeverOutlivesTheSigningCertificate) {
  // A root that expires in 2 hours.
  tls::EvpPkeyPtr root_key = p256Key();
  auto root = makeCaCertificate(*root_key, "short-lived root", fixedNow() - hours(1),
                                fixedNow() + hours(2));
  ASSERT_TRUE(root.ok()) << root.error();
  writeFile(dir_.file("ca-cert.pem"), toPem(**root));
  writeFile(dir_.file("ca-key.pem"), keyPem(*root_key));
  auto ca = startedCa(dir_.path(), fixedClockOptions());
  tls::EvpPkeyPtr key = p256Key();
  IssuedCertificate issued = issueOk(*ca, makeCsrPem(key.get()), hours(24));
  EXPECT_EQ(issued.not_after, fixedNow() + hours(2));

  // Once it has expired (valid when loaded, then the clock moves on), nothing is issued.
  CertificateAuthorityOptions moving = fixedClockOptions();
  auto now = std::make_shared<sys_seconds>(fixedNow());
  moving.clock = [now] { return system_clock::time_point(*now); };
  CertificateAuthority expiring(std::make_unique<DirectoryCaStorage>(dir_.path()), moving);
  ASSERT_EQ(expiring.start(), "");
  expiring.setTrustDomain("cluster.local");
  *now = fixedNow() + hours(3);
  auto decision = expiring.issue(IssueRequest{kReviews, makeCsrPem(key.get()), std::nullopt});
  ASSERT_TRUE(std::holds_alternative<Rejection>(decision));
  EXPECT_EQ(std::get<Rejection>(decision).reason, RejectReason::kSigningFailed);
}

TEST_F(CertificateAuthorityTest, UsesTheTrustDomainAndRefusesBeforeKnowingIt) {
  CertificateAuthority ca(std::make_unique<DirectoryCaStorage>(dir_.path()), fixedClockOptions());
  ASSERT_EQ(ca.start(), "");
  tls::EvpPkeyPtr key = p256Key();
  const std::string csr = makeCsrPem(key.get());
  auto decision = ca.issue(IssueRequest{kReviews, csr, std::nullopt});
  ASSERT_TRUE(std::holds_alternative<Rejection>(decision));
  EXPECT_EQ(std::get<Rejection>(decision).reason, RejectReason::kCaNotReady);

  ca.setTrustDomain("example.org");
  IssuedCertificate issued = issueOk(ca, csr, std::nullopt, {"shop", "cart"});
  EXPECT_EQ(issued.spiffe_id, "spiffe://example.org/ns/shop/sa/cart");
  auto uris = tls::uriSans(*parseCert(issued.chain_pem[0]));
  ASSERT_TRUE(uris.ok());
  EXPECT_EQ(*uris, std::vector<std::string>{"spiffe://example.org/ns/shop/sa/cart"});
}

TEST_F(CertificateAuthorityTest, CsrProblemsAreRejectedWithTheirReason) {
  auto ca = startedCa(dir_.path(), fixedClockOptions());
  tls::EvpPkeyPtr key = p256Key();
  auto reasonFor = [&](const std::string& csr) {
    auto decision = ca->issue(IssueRequest{kReviews, csr, std::nullopt});
    return std::holds_alternative<Rejection>(decision) ? std::get<Rejection>(decision).reason
                                                       : RejectReason::kInternal;
  };
  EXPECT_EQ(reasonFor("garbage"), RejectReason::kMalformedCsr);
  EXPECT_EQ(reasonFor(makeCsrPem(key.get(), {"spiffe://cluster.local/ns/default/sa/admin"})),
            RejectReason::kIdentityMismatch);
  // The caller's own id in the CSR is fine.
  EXPECT_TRUE(std::holds_alternative<IssuedCertificate>(
      ca->issue(IssueRequest{kReviews, makeCsrPem(key.get(), {kReviewsId}), std::nullopt})));
}

TEST_F(CertificateAuthorityTest, GeneratedRootIsPersistedAndLoadedAgain) {
  std::string first_bundle;
  std::string first_key;
  {
    auto ca = startedCa(dir_.path(), {});
    first_bundle = ca->material()->trust_bundle_pem;
  }
  ASSERT_TRUE(std::filesystem::exists(dir_.file("ca-cert.pem")));
  ASSERT_TRUE(std::filesystem::exists(dir_.file("ca-key.pem")));
  struct stat info {};
  ASSERT_EQ(::stat(dir_.file("ca-key.pem").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  first_key = readFile(dir_.file("ca-key.pem"));
  // No temporary file is left behind.
  size_t entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 2u);

  // The second start signs with the same root and key.
  auto second = startedCa(dir_.path(), {});
  EXPECT_EQ(second->material()->trust_bundle_pem, first_bundle);
  EXPECT_EQ(readFile(dir_.file("ca-key.pem")), first_key);
  tls::EvpPkeyPtr key = p256Key();
  IssuedCertificate issued = issueOk(*second, makeCsrPem(key.get()));
  std::vector<tls::X509Ptr> first_roots = parseCerts(first_bundle);
  EXPECT_TRUE(tls::verifiedChain(*parseCert(issued.chain_pem[0]), {}, first_roots).ok());

  // The generated root is a proper CA: P-256, CA:TRUE, may sign certificates.
  tls::X509Ptr root = parseCert(first_bundle);
  EXPECT_EQ(tls::describeKey(*X509_get0_pubkey(root.get())), "EC P-256");
  EXPECT_EQ(X509_check_ca(root.get()), 1);
  EXPECT_NE(X509_get_key_usage(root.get()) & KU_KEY_CERT_SIGN, 0u);
}

TEST_F(CertificateAuthorityTest, KeyWithoutCertificateIsAnErrorNotANewRoot) {
  writeFile(dir_.file("ca-key.pem"), keyPem(*p256Key()));
  CertificateAuthority ca(std::make_unique<DirectoryCaStorage>(dir_.path()), {});
  const std::string error = ca.start();
  EXPECT_NE(error.find("ca-key.pem but no ca-cert.pem"), std::string::npos) << error;
  EXPECT_FALSE(std::filesystem::exists(dir_.file("ca-cert.pem")));
}

TEST_F(CertificateAuthorityTest, BrokenUserMaterialIsRefusedWithTheReason) {
  tls::EvpPkeyPtr root_key = p256Key();
  auto root = makeCaCertificate(*root_key, "root", fixedNow() - days(1), fixedNow() + days(10));
  ASSERT_TRUE(root.ok());
  auto startError = [&] {
    CertificateAuthority ca(std::make_unique<DirectoryCaStorage>(dir_.path()), fixedClockOptions());
    return ca.start();
  };
  writeFile(dir_.file("ca-cert.pem"), toPem(**root));
  writeFile(dir_.file("ca-key.pem"), keyPem(*p256Key()));  // another key
  EXPECT_NE(startError().find("not the key of the certificate"), std::string::npos);
  writeFile(dir_.file("ca-key.pem"), "not a key");
  EXPECT_NE(startError().find("ca-key.pem: "), std::string::npos);
  writeFile(dir_.file("ca-key.pem"), keyPem(*root_key));
  writeFile(dir_.file("ca-cert.pem"),
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  EXPECT_NE(startError().find("ca-cert.pem: "), std::string::npos);
  // A leaf certificate cannot be a CA's signing certificate.
  tls::EvpPkeyPtr leaf_key = p256Key();
  writeFile(dir_.file("ca-cert.pem"), toPem(**root));
  ASSERT_EQ(startError(), "");
  auto ca = startedCa(dir_.path(), fixedClockOptions());
  IssuedCertificate leaf = issueOk(*ca, makeCsrPem(leaf_key.get()));
  writeFile(dir_.file("ca-cert.pem"), leaf.chain_pem[0]);
  writeFile(dir_.file("ca-key.pem"), keyPem(*leaf_key));
  writeFile(dir_.file("root-cert.pem"), toPem(**root));
  EXPECT_NE(startError().find("is not a CA certificate"), std::string::npos);
}

// A signing intermediate under the user's offline root, with a second intermediate between.
class IntermediateCaTest : public CertificateAuthorityTest {
 protected:
  void SetUp() override {
    root_key_ = p256Key();
    auto root = makeCaCertificate(*root_key_, "Example Root", fixedNow() - days(10),
                                  fixedNow() + days(3650));
    ASSERT_TRUE(root.ok()) << root.error();
    root_ = std::move(*root);
    middle_key_ = makeKey("EC", "P-384");
    auto middle = makeCaCertificate(*middle_key_, "Example Policy CA", fixedNow() - days(10),
                                    fixedNow() + days(1000), root_.get(), root_key_.get());
    ASSERT_TRUE(middle.ok()) << middle.error();
    middle_ = std::move(*middle);
    signing_key_ = p256Key();
    auto signing = makeCaCertificate(*signing_key_, "Example Mesh CA", fixedNow() - days(1),
                                     fixedNow() + days(90), middle_.get(), middle_key_.get());
    ASSERT_TRUE(signing.ok()) << signing.error();
    signing_ = std::move(*signing);
    writeFile(dir_.file("ca-cert.pem"), toPem(*signing_));
    writeFile(dir_.file("ca-key.pem"), keyPem(*signing_key_));
    writeFile(dir_.file("root-cert.pem"), toPem(*root_));
    writeFile(dir_.file("cert-chain.pem"), toPem(*middle_));
  }

  tls::EvpPkeyPtr root_key_, middle_key_, signing_key_;
  tls::X509Ptr root_, middle_, signing_;
};

TEST_F(IntermediateCaTest, ChainCarriesIntermediatesAndVerifiesToTheUsersRoot) {
  auto ca = startedCa(dir_.path(), fixedClockOptions());
  tls::EvpPkeyPtr key = p256Key();
  IssuedCertificate issued = issueOk(*ca, makeCsrPem(key.get()));
  // Leaf, signing intermediate, policy intermediate; never the root.
  ASSERT_EQ(issued.chain_pem.size(), 3u);
  tls::X509Ptr leaf = parseCert(issued.chain_pem[0]);
  EXPECT_EQ(X509_cmp(parseCert(issued.chain_pem[1]).get(), signing_.get()), 0);
  EXPECT_EQ(X509_cmp(parseCert(issued.chain_pem[2]).get(), middle_.get()), 0);
  std::vector<tls::X509Ptr> bundle = parseCerts(issued.trust_bundle_pem);
  ASSERT_EQ(bundle.size(), 1u);
  EXPECT_EQ(X509_cmp(bundle[0].get(), root_.get()), 0);

  std::vector<tls::X509Ptr> intermediates;
  intermediates.push_back(parseCert(issued.chain_pem[1]));
  intermediates.push_back(parseCert(issued.chain_pem[2]));
  auto path = tls::verifiedChain(*leaf, intermediates, bundle, fixedNow());
  ASSERT_TRUE(path.ok()) << path.error();
  EXPECT_EQ(path->size(), 4u);
  // Without the intermediates the leaf does not verify: the chain is needed, and sent.
  EXPECT_FALSE(tls::verifiedChain(*leaf, {}, bundle, fixedNow()).ok());
  // The leaf ends with the signing intermediate at the latest.
  EXPECT_EQ(issueOk(*ca, makeCsrPem(key.get()), days(30)).not_after, fixedNow() + hours(24));
}

TEST_F(IntermediateCaTest, ChainFileListingTheWholePathIsAccepted) {
  // Istio's layout: cert-chain.pem holds the signing certificate, intermediates and root.
  writeFile(dir_.file("cert-chain.pem"), toPem(*signing_) + toPem(*middle_) + toPem(*root_));
  auto ca = startedCa(dir_.path(), fixedClockOptions());
  EXPECT_EQ(ca->material()->chain_pem.size(), 2u);
}

TEST_F(IntermediateCaTest, MissingIntermediateOrRootIsAnError) {
  std::filesystem::remove(dir_.file("cert-chain.pem"));
  CertificateAuthority without_chain(std::make_unique<DirectoryCaStorage>(dir_.path()),
                                     fixedClockOptions());
  EXPECT_NE(without_chain.start().find("does not chain to the root"), std::string::npos);
  writeFile(dir_.file("cert-chain.pem"), toPem(*middle_));
  std::filesystem::remove(dir_.file("root-cert.pem"));
  CertificateAuthority without_root(std::make_unique<DirectoryCaStorage>(dir_.path()),
                                    fixedClockOptions());
  EXPECT_NE(without_root.start().find("is not self-signed"), std::string::npos);
}

TEST_F(CertificateAuthorityTest, ReloadRotatesTheRootByBundleOverlap) {
  auto ca = startedCa(dir_.path(), fixedClockOptions());
  const std::string old_root_pem = ca->material()->trust_bundle_pem;
  const std::string old_cert = readFile(dir_.file("ca-cert.pem"));
  const std::string old_key = readFile(dir_.file("ca-key.pem"));
  tls::EvpPkeyPtr key = p256Key();
  IssuedCertificate before = issueOk(*ca, makeCsrPem(key.get()));

  // Step 1: the new root joins the bundle; signing stays with the old one.
  tls::EvpPkeyPtr new_root_key = p256Key();
  auto new_root =
      makeCaCertificate(*new_root_key, "new root", fixedNow() - hours(1), fixedNow() + days(3650));
  ASSERT_TRUE(new_root.ok());
  writeFile(dir_.file("extra-roots.pem"), toPem(**new_root));
  ASSERT_EQ(ca->reload(), "");
  std::vector<tls::X509Ptr> overlap = parseCerts(ca->material()->trust_bundle_pem);
  ASSERT_EQ(overlap.size(), 2u);
  EXPECT_EQ(ca->material()->trust_bundle_pem.find(old_root_pem), 0u);  // signing root first

  // Step 2: sign with the new root, still trusting the old one.
  writeFile(dir_.file("ca-cert.pem"), toPem(**new_root));
  writeFile(dir_.file("ca-key.pem"), keyPem(*new_root_key));
  writeFile(dir_.file("extra-roots.pem"), old_root_pem);
  ASSERT_EQ(ca->reload(), "");
  IssuedCertificate after = issueOk(*ca, makeCsrPem(key.get()));
  std::vector<tls::X509Ptr> bundle = parseCerts(after.trust_bundle_pem);
  ASSERT_EQ(bundle.size(), 2u);
  // Old and new certificates both verify against the overlapping bundle.
  EXPECT_TRUE(tls::verifiedChain(*parseCert(before.chain_pem[0]), {}, bundle, fixedNow()).ok());
  EXPECT_TRUE(tls::verifiedChain(*parseCert(after.chain_pem[0]), {}, bundle, fixedNow()).ok());

  // Step 3: the old root leaves the bundle; old certificates no longer verify.
  std::filesystem::remove(dir_.file("extra-roots.pem"));
  ASSERT_EQ(ca->reload(), "");
  std::vector<tls::X509Ptr> final_bundle = parseCerts(ca->material()->trust_bundle_pem);
  ASSERT_EQ(final_bundle.size(), 1u);
  EXPECT_FALSE(
      tls::verifiedChain(*parseCert(before.chain_pem[0]), {}, final_bundle, fixedNow()).ok());
}

TEST_F(CertificateAuthorityTest, SignsWithACaCertificateThatHasNoSubjectKeyIdentifier) {
  // RFC 5280 asks every CA certificate for a subject key identifier, but not every tool adds one
  // (python-cryptography's builder does not unless told). Such a root loads, so it must also
  // sign: the leaves then carry no authority key identifier.
  tls::EvpPkeyPtr root_key = p256Key();
  tls::CertificateBuilder builder;
  builder.setSubjectKey(*root_key)
      .setSubjectName("root without key identifier", "Example")
      .setValidity(fixedNow() - days(1), fixedNow() + days(30))
      .addExtension(NID_basic_constraints, "critical,CA:TRUE")
      .addExtension(NID_key_usage, "critical,keyCertSign,cRLSign");
  auto root = builder.sign(*root_key);
  ASSERT_TRUE(root.ok()) << root.error();
  ASSERT_EQ(X509_get0_subject_key_id(root->get()), nullptr);
  writeFile(dir_.file("ca-cert.pem"), toPem(**root));
  writeFile(dir_.file("ca-key.pem"), keyPem(*root_key));
  auto ca = startedCa(dir_.path(), fixedClockOptions());

  tls::EvpPkeyPtr key = p256Key();
  IssuedCertificate issued = issueOk(*ca, makeCsrPem(key.get()));
  ASSERT_EQ(issued.chain_pem.size(), 1u);
  tls::X509Ptr leaf = parseCert(issued.chain_pem[0]);
  ASSERT_NE(leaf, nullptr);
  EXPECT_EQ(X509_get0_authority_key_id(leaf.get()), nullptr);
  EXPECT_NE(X509_get0_subject_key_id(leaf.get()), nullptr);
  std::vector<tls::X509Ptr> roots = parseCerts(issued.trust_bundle_pem);
  auto path = tls::verifiedChain(*leaf, {}, roots, fixedNow());
  EXPECT_TRUE(path.ok()) << path.error();
}

TEST_F(CertificateAuthorityTest, FailedReloadKeepsTheMaterialInUse) {
  auto ca = startedCa(dir_.path(), fixedClockOptions());
  SigningMaterialPtr before = ca->material();
  writeFile(dir_.file("ca-cert.pem"), "broken");
  const std::string error = ca->reload();
  EXPECT_NE(error.find("keeping the material in use"), std::string::npos) << error;
  EXPECT_EQ(ca->material(), before);
  tls::EvpPkeyPtr key = p256Key();
  issueOk(*ca, makeCsrPem(key.get()));

  // Removing the files does not make reload() generate a different root.
  std::filesystem::remove(dir_.file("ca-cert.pem"));
  std::filesystem::remove(dir_.file("ca-key.pem"));
  EXPECT_NE(ca->reload(), "");
  EXPECT_FALSE(std::filesystem::exists(dir_.file("ca-cert.pem")));
  EXPECT_EQ(ca->material(), before);
}

}  // namespace
}  // namespace weft::controlplane::ca
