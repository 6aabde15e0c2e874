#include "proxy/tls/tls_material.h"

#include <fstream>
#include <sstream>

#include "common/tls/certificate.h"
#include "common/tls/pem.h"

namespace weft::proxy {

namespace {

using weft::tls::Error;
using weft::tls::Result;

// PEM files are small; anything past this is not a certificate bundle.
constexpr std::streamsize kMaxPemFileBytes = 1 << 20;

Result<std::string> readPemFile(const std::string& path, const char* field) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return Error{std::string(field) + ": cannot read \"" + path + "\""};
  }
  std::string text(static_cast<size_t>(kMaxPemFileBytes) + 1, '\0');
  file.read(text.data(), kMaxPemFileBytes + 1);
  if (file.gcount() > kMaxPemFileBytes) {
    return Error{std::string(field) + ": \"" + path + "\" is larger than 1 MiB"};
  }
  text.resize(static_cast<size_t>(file.gcount()));
  return text;
}

}  // namespace

Result<CertificateMaterial> loadCertificateMaterial(const weft::v1::TlsCertificate& certificate) {
  std::string chain_pem = certificate.certificate_chain();
  if (certificate.has_certificate_chain_file()) {
    auto text = readPemFile(certificate.certificate_chain_file(), "certificate_chain_file");
    if (!text) {
      return Error{text.error()};
    }
    chain_pem = std::move(*text);
  }
  std::string key_pem = certificate.private_key();
  if (certificate.has_private_key_file()) {
    auto text = readPemFile(certificate.private_key_file(), "private_key_file");
    if (!text) {
      return Error{text.error()};
    }
    key_pem = std::move(*text);
  }
  auto chain = weft::tls::readCertificateChainPem(chain_pem);
  if (!chain) {
    return Error{"certificate_chain: " + chain.error()};
  }
  auto key = weft::tls::readPrivateKeyPem(key_pem);
  if (!key) {
    return Error{"private_key: " + key.error()};
  }
  if (!weft::tls::certificateMatchesKey(*chain->front(), **key)) {
    return Error{"private_key: does not match the first certificate of certificate_chain"};
  }
  return CertificateMaterial{std::move(*chain), std::move(*key)};
}

Result<TrustMaterial> loadTrustMaterial(const weft::v1::ValidationContext& validation) {
  std::string roots_pem = validation.trusted_ca();
  if (validation.has_trusted_ca_file()) {
    auto text = readPemFile(validation.trusted_ca_file(), "trusted_ca_file");
    if (!text) {
      return Error{text.error()};
    }
    roots_pem = std::move(*text);
  }
  auto roots = weft::tls::readCertificateChainPem(roots_pem);
  if (!roots) {
    return Error{"trusted_ca: " + roots.error()};
  }
  return TrustMaterial{std::move(*roots), validation.trust_domain()};
}

}  // namespace weft::proxy
