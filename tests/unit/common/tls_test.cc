#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <chrono>
#include <ctime>
#include <string>
#include <vector>

#include "common/tls/certificate.h"
#include "common/tls/certificate_builder.h"
#include "common/tls/csr.h"
#include "common/tls/key.h"
#include "common/tls/openssl_error.h"
#include "common/tls/openssl_ptr.h"
#include "common/tls/pem.h"

namespace weft::tls {
namespace {

using namespace std::chrono;

constexpr std::string_view kSpiffeId = "spiffe://cluster.local/ns/default/sa/reviews";

EvpPkeyPtr newKey() {
  auto key = generateEcdsaP256Key();
  EXPECT_TRUE(key.ok()) << key.error();
  return key.ok() ? std::move(key).value() : nullptr;
}

void addSubject(X509_NAME* name, const std::string& common_name) {
  ASSERT_EQ(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>(common_name.c_str()),
                                       -1, -1, 0),
            1);
}

struct CertSpec {
  std::string common_name = "test";
  std::string subject_alt_names = "";  // OpenSSL config syntax, e.g. "URI:spiffe://...,DNS:a"
  std::time_t not_before = 1700000000;
  std::time_t not_after = 1700086400;
};

// Builds a certificate for `key`, signed by `issuer_key` (self-signed when `issuer` is null),
// with the OpenSSL APIs directly so the code under test is checked against an independent
// construction.
X509Ptr makeCert(EVP_PKEY* key, EVP_PKEY* issuer_key, X509* issuer, const CertSpec& spec) {
  static long serial = 1;
  X509Ptr cert(X509_new());
  EXPECT_EQ(X509_set_version(cert.get(), X509_VERSION_3), 1);
  EXPECT_EQ(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++), 1);
  EXPECT_NE(ASN1_TIME_set(X509_getm_notBefore(cert.get()), spec.not_before), nullptr);
  EXPECT_NE(ASN1_TIME_set(X509_getm_notAfter(cert.get()), spec.not_after), nullptr);
  addSubject(X509_get_subject_name(cert.get()), spec.common_name);
  EXPECT_EQ(X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer ? issuer : cert.get())),
            1);
  EXPECT_EQ(X509_set_pubkey(cert.get(), key), 1);
  if (!spec.subject_alt_names.empty()) {
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, NID_subject_alt_name,
                                                    spec.subject_alt_names.c_str());
    EXPECT_NE(extension, nullptr) << opensslErrors();
    EXPECT_EQ(X509_add_ext(cert.get(), extension, -1), 1);
    X509_EXTENSION_free(extension);
  }
  EXPECT_GT(X509_sign(cert.get(), issuer_key, EVP_sha256()), 0) << opensslErrors();
  return cert;
}

X509Ptr makeSelfSigned(EVP_PKEY* key, const CertSpec& spec) {
  return makeCert(key, key, nullptr, spec);
}

// A CSR carrying `public_key`, signed with `signing_key` (normally the same key).
X509ReqPtr makeCsr(EVP_PKEY* public_key, EVP_PKEY* signing_key) {
  X509ReqPtr csr(X509_REQ_new());
  EXPECT_EQ(X509_REQ_set_version(csr.get(), X509_REQ_VERSION_1), 1);
  addSubject(X509_REQ_get_subject_name(csr.get()), "reviews");
  EXPECT_EQ(X509_REQ_set_pubkey(csr.get(), public_key), 1);
  EXPECT_GT(X509_REQ_sign(csr.get(), signing_key, EVP_sha256()), 0) << opensslErrors();
  return csr;
}

std::string toPem(const X509& cert) {
  auto pem = writeCertificatePem(cert);
  EXPECT_TRUE(pem.ok()) << pem.error();
  return pem.ok() ? *pem : std::string();
}

// Every failure must leave the thread's OpenSSL error queue empty (see opensslErrors()).
void expectErrorQueueEmpty() {
  EXPECT_EQ(ERR_peek_error(), 0u) << opensslErrors();
}

template <class T>
void expectError(const Result<T>& result, std::string_view expected_prefix) {
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(result.error().starts_with(expected_prefix)) << result.error();
  expectErrorQueueEmpty();
}

TEST(TlsKeyTest, GeneratesP256Key) {
  EvpPkeyPtr key = newKey();
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(key.get()), EVP_PKEY_EC);
  EXPECT_EQ(EVP_PKEY_get_bits(key.get()), 256);
  char group[64] = {};
  size_t length = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(key.get(), group, sizeof(group), &length), 1);
  EXPECT_STREQ(group, "prime256v1");
  EvpPkeyPtr other = newKey();
  ASSERT_NE(other, nullptr);
  EXPECT_NE(EVP_PKEY_eq(key.get(), other.get()), 1);
}

TEST(TlsKeyTest, PrivateKeyRoundTripsThroughPem) {
  EvpPkeyPtr key = newKey();
  ASSERT_NE(key, nullptr);
  auto pem = writePrivateKeyPem(*key);
  ASSERT_TRUE(pem.ok()) << pem.error();
  EXPECT_TRUE(pem->starts_with("-----BEGIN PRIVATE KEY-----\n")) << *pem;
  auto parsed = readPrivateKeyPem(*pem);
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_EQ(EVP_PKEY_eq(key.get(), parsed->get()), 1);
}

TEST(TlsKeyTest, ReadsTraditionalEcKeyFormat) {
  EvpPkeyPtr key = newKey();
  ASSERT_NE(key, nullptr);
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_PrivateKey_traditional(bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                                 nullptr),
            1);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  const std::string pem(data, static_cast<size_t>(size));
  EXPECT_TRUE(pem.starts_with("-----BEGIN EC PRIVATE KEY-----")) << pem;
  auto parsed = readPrivateKeyPem(pem);
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_EQ(EVP_PKEY_eq(key.get(), parsed->get()), 1);
}

TEST(TlsKeyTest, BadPrivateKeyPemGivesErrors) {
  expectError(readPrivateKeyPem(""), "no private key found in PEM input");
  expectError(readPrivateKeyPem("not a key at all\n"), "no private key found in PEM input");

  EvpPkeyPtr key = newKey();
  ASSERT_NE(key, nullptr);
  const std::string pem = *writePrivateKeyPem(*key);
  // Cut inside the base64 body: the block has no end line.
  expectError(readPrivateKeyPem(pem.substr(0, pem.size() / 2)), "PEM parse error: ");
  // Complete framing around a corrupted body.
  std::string corrupted = pem;
  corrupted.replace(40, 20, "AAAAAAAAAAAAAAAAAAAA");
  EXPECT_FALSE(readPrivateKeyPem(corrupted).ok());
  expectErrorQueueEmpty();
  // A certificate is not a key.
  X509Ptr cert = makeSelfSigned(key.get(), {});
  expectError(readPrivateKeyPem(toPem(*cert)), "no private key found in PEM input");
  // But a bundle of certificate and key yields the key.
  auto bundled = readPrivateKeyPem(toPem(*cert) + pem);
  ASSERT_TRUE(bundled.ok()) << bundled.error();
  EXPECT_EQ(EVP_PKEY_eq(key.get(), bundled->get()), 1);
}

TEST(TlsKeyTest, EncryptedPrivateKeyIsRejectedWithoutPrompting) {
  EvpPkeyPtr key = newKey();
  ASSERT_NE(key, nullptr);
  BioPtr bio(BIO_new(BIO_s_mem()));
  static const char kPassphrase[] = "secret-passphrase";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio.get(), key.get(), EVP_aes_256_cbc(), kPassphrase,
                                          sizeof(kPassphrase) - 1, nullptr, nullptr),
            1);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  const std::string pem(data, static_cast<size_t>(size));
  ASSERT_TRUE(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")) << pem;
  expectError(readPrivateKeyPem(pem), "private key is encrypted");
  // The legacy form marks encryption in RFC 1421 headers instead.
  expectError(readPrivateKeyPem("-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
                                "DEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n"
                                "AAAA\n-----END EC PRIVATE KEY-----\n"),
              "private key is encrypted");
}

TEST(TlsCertificateTest, SelfSignedCertRoundTripsWithUriSan) {
  EvpPkeyPtr key = newKey();
  ASSERT_NE(key, nullptr);
  X509Ptr cert = makeSelfSigned(key.get(), {.subject_alt_names = "URI:" + std::string(kSpiffeId)});
  const std::string pem = toPem(*cert);
  EXPECT_TRUE(pem.starts_with("-----BEGIN CERTIFICATE-----\n")) << pem;

  auto parsed = readCertificatePem(pem);
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_EQ(X509_cmp(cert.get(), parsed->get()), 0);
  auto uris = uriSans(**parsed);
  ASSERT_TRUE(uris.ok()) << uris.error();
  EXPECT_EQ(*uris, std::vector<std::string>{std::string(kSpiffeId)});
  EXPECT_TRUE(certificateMatchesKey(**parsed, *key));
}

TEST(TlsCertificateTest, OnlyUriSansAreReturnedInOrder) {
  EvpPkeyPtr key = newKey();
  ASSERT_NE(key, nullptr);
  X509Ptr cert = makeSelfSigned(
      key.get(), {.subject_alt_names = "DNS:reviews.default.svc,URI:spiffe://a/ns/x/sa/y,"
                                       "IP:10.0.0.1,URI:https://example.com/other"});
  auto uris = uriSans(*cert);
  ASSERT_TRUE(uris.ok()) << uris.error();
  EXPECT_EQ(*uris, (std::vector<std::string>{"spiffe://a/ns/x/sa/y", "https://example.com/other"}));
}

TEST(TlsCertificateTest, NoSanExtensionGivesEmptyList) {
  EvpPkeyPtr key = newKey();
  ASSERT_NE(key, nullptr);
  X509Ptr cert = makeSelfSigned(key.get(), {});
  auto uris = uriSans(*cert);
  ASSERT_TRUE(uris.ok()) << uris.error();
  EXPECT_TRUE(uris->empty());
  expectErrorQueueEmpty();
}

TEST(TlsCertificateTest, DuplicateSanExtensionIsAnError) {
  EvpPkeyPtr key = newKey();
  ASSERT_NE(key, nullptr);
  X509Ptr cert = makeSelfSigned(key.get(), {.subject_alt_names = "URI:spiffe://a/ns/x/sa/y"});
  // Append a second subjectAltName: which one names the peer would be ambiguous.
  X509_EXTENSION* extension =
      X509_get_ext(cert.get(), X509_get_ext_by_NID(cert.get(), NID_subject_alt_name, -1));
  ASSERT_NE(extension, nullptr);
  ASSERT_EQ(X509_add_ext(cert.get(), extension, -1), 1);
  expectError(uriSans(*cert), "certificate has more than one subjectAltName extension");
}

TEST(TlsCertificateTest, MalformedSanExtensionIsAnError) {
  EvpPkeyPtr key = newKey();
  ASSERT_NE(key, nullptr);
  X509Ptr cert = makeSelfSigned(key.get(), {});
  ASN1_OCTET_STRING* garbage = ASN1_OCTET_STRING_new();
  const unsigned char bytes[] = {0x30, 0x05, 0x86, 0x10, 'a'};  // lengths overrun the data
  ASSERT_EQ(ASN1_OCTET_STRING_set(garbage, bytes, sizeof(bytes)), 1);
  X509_EXTENSION* extension =
      X509_EXTENSION_create_by_NID(nullptr, NID_subject_alt_name, 0, garbage);
  ASN1_OCTET_STRING_free(garbage);
  ASSERT_NE(extension, nullptr);
  ASSERT_EQ(X509_add_ext(cert.get(), extension, -1), 1);
  X509_EXTENSION_free(extension);
  expectError(uriSans(*cert), "certificate has a malformed subjectAltName extension");
}

TEST(TlsCertificateTest, UriSanWithEmbeddedNulIsAnError) {
  EvpPkeyPtr key = newKey();
  ASSERT_NE(key, nullptr);
  X509Ptr cert = makeSelfSigned(key.get(), {});
  GENERAL_NAMES* names = GENERAL_NAMES_new();
  GENERAL_NAME* name = GENERAL_NAME_new();
  ASN1_IA5STRING* uri = ASN1_IA5STRING_new();
  const char value[] = "spiffe://evil/ns/a/sa/b\0.trusted";
  ASSERT_EQ(ASN1_STRING_set(uri, value, sizeof(value) - 1), 1);
  GENERAL_NAME_set0_value(name, GEN_URI, uri);
  ASSERT_GT(sk_GENERAL_NAME_push(names, name), 0);
  ASSERT_EQ(X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT), 1);
  GENERAL_NAMES_free(names);
  expectError(uriSans(*cert), "certificate has a URI subjectAltName with an embedded NUL");
}

TEST(TlsCertificateTest, ValidityReadsBackAsTimePoints) {
  EvpPkeyPtr key = newKey();
  ASSERT_NE(key, nullptr);
  // 2023-11-14T22:13:20Z .. one day later.
  X509Ptr cert = makeSelfSigned(key.get(), {.not_before = 1700000000, .not_after = 1700086400});
  auto parsed = readCertificatePem(toPem(*cert));
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  auto validity = certificateValidity(**parsed);
  ASSERT_TRUE(validity.ok()) << validity.error();
  EXPECT_EQ(validity->not_before, sys_seconds(seconds(1700000000)));
  EXPECT_EQ(validity->not_after, sys_seconds(seconds(1700086400)));
  EXPECT_EQ(validity->not_after - validity->not_before, hours(24));
}

TEST(TlsCertificateTest, FarFutureValidityDoesNotOverflow) {
  EvpPkeyPtr key = newKey();
  ASSERT_NE(key, nullptr);
  // RFC 5280's "no well-defined expiration": 9999-12-31T23:59:59Z, a GeneralizedTime.
  const std::time_t end_of_9999 = 253402300799;
  X509Ptr cert = makeSelfSigned(key.get(), {.not_after = end_of_9999});
  auto validity = certificateValidity(*cert);
  ASSERT_TRUE(validity.ok()) << validity.error();
  EXPECT_EQ(validity->not_after,
            sys_days{year{9999} / December / 31} + hours(23) + minutes(59) + seconds(59));
}

TEST(TlsCertificateTest, UnsetValidityIsAnError) {
  X509Ptr cert(X509_new());
  expectError(certificateValidity(*cert), "certificate has an invalid notBefore");
}

TEST(TlsCertificateTest, CertificateDoesNotMatchOtherKey) {
  EvpPkeyPtr key = newKey();
  EvpPkeyPtr other = newKey();
  ASSERT_NE(key, nullptr);
  ASSERT_NE(other, nullptr);
  X509Ptr cert = makeSelfSigned(key.get(), {});
  EXPECT_FALSE(certificateMatchesKey(*cert, *other));
  expectErrorQueueEmpty();
}

TEST(TlsCertificateTest, ChainOfTwoParsesAsTwoInOrder) {
  EvpPkeyPtr root_key = newKey();
  EvpPkeyPtr leaf_key = newKey();
  ASSERT_NE(root_key, nullptr);
  ASSERT_NE(leaf_key, nullptr);
  X509Ptr root = makeSelfSigned(root_key.get(), {.common_name = "root"});
  std::vector<X509Ptr> chain;
  chain.push_back(
      makeCert(leaf_key.get(), root_key.get(), root.get(),
               {.common_name = "leaf", .subject_alt_names = "URI:" + std::string(kSpiffeId)}));
  chain.push_back(std::move(root));

  auto pem = writeCertificateChainPem(chain);
  ASSERT_TRUE(pem.ok()) << pem.error();
  auto parsed = readCertificateChainPem(*pem);
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ(X509_cmp((*parsed)[0].get(), chain[0].get()), 0);
  EXPECT_EQ(X509_cmp((*parsed)[1].get(), chain[1].get()), 0);
  // The leaf really is issued by the root.
  EXPECT_EQ(X509_verify((*parsed)[0].get(), X509_get0_pubkey((*parsed)[1].get())), 1);
  // readCertificatePem takes the first, the leaf.
  auto first = readCertificatePem(*pem);
  ASSERT_TRUE(first.ok()) << first.error();
  EXPECT_EQ(X509_cmp(first->get(), chain[0].get()), 0);
  expectErrorQueueEmpty();
}

TEST(TlsCertificateTest, ChainToleratesTextBetweenBlocks) {
  EvpPkeyPtr key = newKey();
  ASSERT_NE(key, nullptr);
  X509Ptr a = makeSelfSigned(key.get(), {.common_name = "a"});
  X509Ptr b = makeSelfSigned(key.get(), {.common_name = "b"});
  const std::string pem = "# bundle\n" + toPem(*a) + "\n# second\n" + toPem(*b) + "\n";
  auto parsed = readCertificateChainPem(pem);
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_EQ(parsed->size(), 2u);
}

TEST(TlsCertificateTest, BadCertificatePemGivesErrors) {
  expectError(readCertificatePem(""), "no certificate found in PEM input");
  expectError(readCertificateChainPem(""), "no certificate found in PEM input");
  expectError(readCertificatePem("garbage\x01\xff\n"), "no certificate found in PEM input");
  expectError(readCertificateChainPem(std::string(10000, 'A')),
              "no certificate found in PEM input");
  expectError(readCertificatePem("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"),
              "PEM parse error: ");

  EvpPkeyPtr key = newKey();
  ASSERT_NE(key, nullptr);
  const std::string pem = toPem(*makeSelfSigned(key.get(), {}));
  // Truncated at every length: never a crash, never a certificate.
  for (size_t length = 0; length < pem.size() - 1; length += 7) {
    auto parsed = readCertificatePem(pem.substr(0, length));
    EXPECT_FALSE(parsed.ok()) << length;
    expectErrorQueueEmpty();
  }
  expectError(readCertificatePem(pem.substr(0, pem.size() / 2)), "PEM parse error: ");
  // Valid base64 framing around bytes that are not a certificate.
  expectError(readCertificatePem("-----BEGIN CERTIFICATE-----\nAAAAAAAAAAAA\n"
                                 "-----END CERTIFICATE-----\n"),
              "PEM parse error: ");
  // A key is not a certificate.
  expectError(readCertificatePem(*writePrivateKeyPem(*key)), "no certificate found in PEM input");
}

TEST(TlsCertificateTest, TrailingDataInsideBlockIsAnError) {
  EvpPkeyPtr key = newKey();
  ASSERT_NE(key, nullptr);
  X509Ptr cert = makeSelfSigned(key.get(), {});
  unsigned char* der = nullptr;
  const int length = i2d_X509(cert.get(), &der);
  ASSERT_GT(length, 0);
  std::string padded(reinterpret_cast<const char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  padded += "extra";
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT_GT(PEM_write_bio(bio.get(), "CERTIFICATE", "",
                          reinterpret_cast<const unsigned char*>(padded.data()),
                          static_cast<long>(padded.size())),
            0);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  expectError(readCertificatePem(std::string(data, static_cast<size_t>(size))),
              "PEM parse error: trailing data after certificate");
}

TEST(TlsCertificateTest, EmptyBlockIsAnError) {
  expectError(readCertificatePem("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"),
              "PEM parse error: ");
}

TEST(TlsCertificateTest, ChainWithBrokenSecondBlockIsAnError) {
  EvpPkeyPtr key = newKey();
  ASSERT_NE(key, nullptr);
  const std::string first = toPem(*makeSelfSigned(key.get(), {.common_name = "a"}));
  const std::string second = toPem(*makeSelfSigned(key.get(), {.common_name = "b"}));
  expectError(readCertificateChainPem(first + second.substr(0, second.size() / 2)),
              "PEM parse error: ");
}

TEST(TlsCertificateTest, WritingChainWithNullIsAnError) {
  std::vector<X509Ptr> chain;
  chain.emplace_back(nullptr);
  expectError(writeCertificateChainPem(chain), "null certificate in chain");
  expectError(makeX509Stack(chain), "null certificate in chain");
}

TEST(TlsCertificateTest, X509StackHoldsItsOwnReferences) {
  EvpPkeyPtr key = newKey();
  ASSERT_NE(key, nullptr);
  std::vector<X509Ptr> certs;
  certs.push_back(makeSelfSigned(key.get(), {.common_name = "a"}));
  certs.push_back(makeSelfSigned(key.get(), {.common_name = "b"}));
  auto stack = makeX509Stack(certs);
  ASSERT_TRUE(stack.ok()) << stack.error();
  certs.clear();  // the stack must keep the certificates alive on its own
  ASSERT_EQ(sk_X509_num(stack->get()), 2);
  auto pem = writeCertificatePem(*sk_X509_value(stack->get(), 1));
  ASSERT_TRUE(pem.ok()) << pem.error();
  auto parsed = readCertificatePem(*pem);
  ASSERT_TRUE(parsed.ok()) << parsed.error();
}

TEST(TlsCsrTest, CsrRoundTripsAndVerifies) {
  EvpPkeyPtr key = newKey();
  ASSERT_NE(key, nullptr);
  X509ReqPtr csr = makeCsr(key.get(), key.get());
  auto pem = writeCsrPem(*csr);
  ASSERT_TRUE(pem.ok()) << pem.error();
  EXPECT_TRUE(pem->starts_with("-----BEGIN CERTIFICATE REQUEST-----\n")) << *pem;
  auto parsed = readCsrPem(*pem);
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  auto public_key = verifiedCsrPublicKey(**parsed);
  ASSERT_TRUE(public_key.ok()) << public_key.error();
  EXPECT_EQ(EVP_PKEY_eq(public_key->get(), key.get()), 1);
}

TEST(TlsCsrTest, CsrSignedWithAnotherKeyFailsVerification) {
  EvpPkeyPtr key = newKey();
  EvpPkeyPtr other = newKey();
  ASSERT_NE(key, nullptr);
  ASSERT_NE(other, nullptr);
  X509ReqPtr csr = makeCsr(key.get(), other.get());
  auto parsed = readCsrPem(*writeCsrPem(*csr));
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  expectError(verifiedCsrPublicKey(**parsed), "certificate request signature does not verify");
}

TEST(TlsCsrTest, BadCsrPemGivesErrors) {
  expectError(readCsrPem(""), "no certificate request found in PEM input");
  expectError(readCsrPem("hello"), "no certificate request found in PEM input");
  expectError(
      readCsrPem("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"),
      "PEM parse error: ");
  EvpPkeyPtr key = newKey();
  ASSERT_NE(key, nullptr);
  const std::string pem = *writeCsrPem(*makeCsr(key.get(), key.get()));
  expectError(readCsrPem(pem.substr(0, pem.size() - 30)), "PEM parse error: ");
}

TEST(TlsKeyTest, DescribesKeyAlgorithmAndSize) {
  EvpPkeyPtr p256 = newKey();
  ASSERT_NE(p256, nullptr);
  EXPECT_EQ(describeKey(*p256), "EC P-256");
  EvpPkeyPtr p384(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  EXPECT_EQ(describeKey(*p384), "EC P-384");
  EvpPkeyPtr k256(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp256k1"));
  EXPECT_EQ(describeKey(*k256), "EC secp256k1");
  EvpPkeyPtr rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024}));
  EXPECT_EQ(describeKey(*rsa), "RSA 1024");
  EvpPkeyPtr ed(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  EXPECT_EQ(describeKey(*ed), "ED25519");
  expectErrorQueueEmpty();
}

TEST(TlsCsrTest, CsrUriSansAreReadLikeCertificateOnes) {
  EvpPkeyPtr key = newKey();
  ASSERT_NE(key, nullptr);
  X509ReqPtr plain = makeCsr(key.get(), key.get());
  auto none = csrUriSans(*plain);
  ASSERT_TRUE(none.ok()) << none.error();
  EXPECT_TRUE(none->empty());

  X509ReqPtr csr(X509_REQ_new());
  ASSERT_EQ(X509_REQ_set_pubkey(csr.get(), key.get()), 1);
  STACK_OF(X509_EXTENSION)* extensions = sk_X509_EXTENSION_new_null();
  X509_EXTENSION* san = X509V3_EXT_conf_nid(
      nullptr, nullptr, NID_subject_alt_name,
      "DNS:reviews,URI:spiffe://cluster.local/ns/default/sa/reviews,URI:https://x");
  ASSERT_NE(san, nullptr);
  sk_X509_EXTENSION_push(extensions, san);
  ASSERT_EQ(X509_REQ_add_extensions(csr.get(), extensions), 1);
  sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
  ASSERT_GT(X509_REQ_sign(csr.get(), key.get(), EVP_sha256()), 0);
  auto parsed = readCsrPem(*writeCsrPem(*csr));
  ASSERT_TRUE(parsed.ok());
  auto uris = csrUriSans(**parsed);
  ASSERT_TRUE(uris.ok()) << uris.error();
  EXPECT_EQ(*uris, (std::vector<std::string>{std::string(kSpiffeId), "https://x"}));
  expectErrorQueueEmpty();
}

TEST(TlsCertificateTest, VerifiedChainReturnsThePathOrTheReason) {
  EvpPkeyPtr root_key = newKey();
  EvpPkeyPtr leaf_key = newKey();
  ASSERT_NE(root_key, nullptr);
  ASSERT_NE(leaf_key, nullptr);
  auto built = CertificateBuilder()
                   .setSubjectKey(*root_key)
                   .setSubjectName("root", "Weft tests")
                   .setValidity(sys_seconds(seconds(1700000000)), sys_seconds(seconds(1700086400)))
                   .addExtension(NID_basic_constraints, "critical,CA:TRUE")
                   .addExtension(NID_key_usage, "critical,keyCertSign")
                   .addExtension(NID_subject_key_identifier, "hash")
                   .sign(*root_key);
  ASSERT_TRUE(built.ok()) << built.error();
  X509Ptr root = std::move(*built);
  X509Ptr leaf = makeCert(leaf_key.get(), root_key.get(), root.get(), CertSpec{});
  std::vector<X509Ptr> roots;
  roots.push_back(std::move(root));
  const auto inside = sys_seconds(seconds(1700000000 + 3600));
  auto path = verifiedChain(*leaf, {}, roots, inside);
  ASSERT_TRUE(path.ok()) << path.error();
  ASSERT_EQ(path->size(), 2u);
  EXPECT_EQ(X509_cmp((*path)[0].get(), leaf.get()), 0);
  EXPECT_EQ(X509_cmp((*path)[1].get(), roots[0].get()), 0);

  expectError(verifiedChain(*leaf, {}, roots, sys_seconds(seconds(1800000000))),
              "certificate chain does not verify: certificate has expired");
  std::vector<X509Ptr> other;
  other.push_back(makeSelfSigned(newKey().get(), CertSpec{}));
  expectError(verifiedChain(*leaf, {}, other, inside), "certificate chain does not verify: ");
}

TEST(TlsCertificateBuilderTest, BuildsWhatItIsToldAndSignsWithTheIssuer) {
  EvpPkeyPtr key = newKey();
  ASSERT_NE(key, nullptr);
  // Commas in the URI are taken literally, not as configuration syntax.
  const std::string uri = "spiffe://cluster.local/ns/a,DNS:evil/sa/b";
  auto cert = CertificateBuilder()
                  .setSubjectKey(*key)
                  .setValidity(sys_seconds(seconds(1700000000)), sys_seconds(seconds(1700000600)))
                  .addUriSubjectAltName(uri, /*critical=*/true)
                  .addExtension(NID_basic_constraints, "critical,CA:FALSE")
                  .sign(*key);
  ASSERT_TRUE(cert.ok()) << cert.error();
  auto uris = uriSans(**cert);
  ASSERT_TRUE(uris.ok());
  EXPECT_EQ(*uris, std::vector<std::string>{uri});
  EXPECT_EQ(X509_NAME_entry_count(X509_get_subject_name(cert->get())), 0);
  auto validity = certificateValidity(**cert);
  ASSERT_TRUE(validity.ok());
  EXPECT_EQ(validity->not_after - validity->not_before, seconds(600));
  EXPECT_EQ(X509_verify(cert->get(), key.get()), 1);
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert->get());
  EXPECT_GE(serial->length, 1);
  EXPECT_LE(serial->length, 17);            // 128 bits, plus a sign octet when the top bit is set
  EXPECT_EQ(serial->type, V_ASN1_INTEGER);  // positive

  // The first error is kept and reported by sign().
  auto reversed =
      CertificateBuilder()
          .setSubjectKey(*key)
          .setValidity(sys_seconds(seconds(1700000600)), sys_seconds(seconds(1700000000)))
          .addExtension(NID_basic_constraints, "no such syntax")
          .sign(*key);
  expectError(reversed, "certificate validity ends before it starts");
  auto bad_extension = CertificateBuilder()
                           .setSubjectKey(*key)
                           .addExtension(NID_key_usage, "noSuchUsage")
                           .sign(*key);
  expectError(bad_extension, "cannot add the keyUsage extension: ");
}

TEST(TlsErrorTest, OpensslErrorsDrainsTheQueue) {
  EXPECT_EQ(opensslErrors(), "");
  BioPtr bio(BIO_new_mem_buf("junk", 4));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ASSERT_EQ(cert, nullptr);
  const std::string errors = opensslErrors();
  EXPECT_NE(errors.find("no start line"), std::string::npos) << errors;
  EXPECT_EQ(ERR_peek_error(), 0u);
  EXPECT_EQ(opensslErrors(), "");
}

}  // namespace
}  // namespace weft::tls
