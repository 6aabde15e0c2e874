#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/tls/certificate.h"
#include "common/tls/key.h"
#include "common/tls/openssl_error.h"
#include "common/tls/pem.h"

// Fixtures for the CA tests: keys of every kind, CSRs built with OpenSSL directly (so the CA is
// checked against an independent construction), PEM helpers and scratch directories.
namespace weft::controlplane::ca::testing {

inline tls::EvpPkeyPtr makeKey(const char* algorithm, const char* parameter) {
  EVP_PKEY* key = nullptr;
  if (std::string_view(algorithm) == "RSA") {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(std::stoul(parameter)));
  } else if (std::string_view(algorithm) == "EC") {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", parameter);
  } else {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, algorithm);
  }
  EXPECT_NE(key, nullptr) << tls::opensslErrors();
  return tls::EvpPkeyPtr(key);
}

inline tls::EvpPkeyPtr p256Key() {
  return makeKey("EC", "P-256");
}

// A CSR for `key` with the given URI SANs (none: no extension), signed by `signer` (default:
// `key` itself).
inline std::string makeCsrPem(EVP_PKEY* key, const std::vector<std::string>& uris = {},
                              EVP_PKEY* signer = nullptr, const char* common_name = "workload") {
  tls::X509ReqPtr csr(X509_REQ_new());
  X509_REQ_set_version(csr.get(), X509_REQ_VERSION_1);
  X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(csr.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509_REQ_set_pubkey(csr.get(), key);
  if (!uris.empty()) {
    std::string value;
    for (const std::string& uri : uris) {
      value += (value.empty() ? "URI:" : ",URI:") + uri;
    }
    STACK_OF(X509_EXTENSION)* extensions = sk_X509_EXTENSION_new_null();
    X509_EXTENSION* san =
        X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, value.c_str());
    EXPECT_NE(san, nullptr) << tls::opensslErrors();
    sk_X509_EXTENSION_push(extensions, san);
    EXPECT_EQ(X509_REQ_add_extensions(csr.get(), extensions), 1);
    sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
  }
  EXPECT_GT(X509_REQ_sign(csr.get(), signer != nullptr ? signer : key, EVP_sha256()), 0)
      << tls::opensslErrors();
  auto pem = tls::writeCsrPem(*csr);
  EXPECT_TRUE(pem.ok());
  return pem.ok() ? *pem : std::string();
}

inline tls::X509Ptr parseCert(const std::string& pem) {
  auto cert = tls::readCertificatePem(pem);
  EXPECT_TRUE(cert.ok()) << cert.error();
  return cert.ok() ? std::move(cert).value() : nullptr;
}

inline std::vector<tls::X509Ptr> parseCerts(const std::string& pem) {
  auto certs = tls::readCertificateChainPem(pem);
  EXPECT_TRUE(certs.ok()) << certs.error();
  return certs.ok() ? std::move(certs).value() : std::vector<tls::X509Ptr>{};
}

inline std::string toPem(const X509& cert) {
  auto pem = tls::writeCertificatePem(cert);
  EXPECT_TRUE(pem.ok());
  return pem.ok() ? *pem : std::string();
}

inline std::string keyPem(const EVP_PKEY& key) {
  auto pem = tls::writePrivateKeyPem(key);
  EXPECT_TRUE(pem.ok());
  return pem.ok() ? *pem : std::string();
}

// A scratch directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "weft-ca-test-XXXXXX");
    path_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : std::string();
    EXPECT_FALSE(path_.empty());
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Fixed instants for validity checks, whole seconds like certificates.
inline std::chrono::sys_seconds fixedNow() {
  return std::chrono::sys_days{std::chrono::year{2030} / 6 / 15} + std::chrono::hours(12);
}

}  // namespace weft::controlplane::ca::testing
