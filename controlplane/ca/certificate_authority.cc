#include "controlplane/ca/certificate_authority.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <cstdio>

#include "common/log/logger.h"
#include "common/tls/key.h"
#include "common/tls/pem.h"
#include "controlplane/ca/csr_check.h"
#include "controlplane/ca/root_certificate.h"
#include "controlplane/ca/svid_issuer.h"

namespace weft::controlplane::ca {

namespace {

using std::chrono::sys_seconds;

spdlog::logger& caLog() {
  static spdlog::logger& logger = weft::log::logger("ca");
  return logger;
}

sys_seconds toSeconds(std::chrono::system_clock::time_point time) {
  return std::chrono::floor<std::chrono::seconds>(time);
}

std::string serialHex(const X509& cert) {
  BIGNUM* number = ASN1_INTEGER_to_BN(X509_get0_serialNumber(&cert), nullptr);
  char* hex = number != nullptr ? BN_bn2hex(number) : nullptr;
  std::string out = hex != nullptr ? hex : "?";
  OPENSSL_free(hex);
  BN_free(number);
  return out;
}

std::string dateText(sys_seconds time) {
  const std::chrono::year_month_day date{std::chrono::floor<std::chrono::days>(time)};
  char text[16];
  std::snprintf(text, sizeof(text), "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return text;
}

}  // namespace

CertificateAuthority::CertificateAuthority(std::unique_ptr<CaStorage> storage,
                                           CertificateAuthorityOptions options,
                                           std::shared_ptr<CaMetrics> metrics)
    : storage_(std::move(storage)), options_(std::move(options)), metrics_(std::move(metrics)) {}

std::string CertificateAuthority::start() {
  auto files = storage_->load();
  if (!files) {
    return "CA " + storage_->location() + ": " + files.error();
  }
  if (files->signing_cert.empty()) {
    const sys_seconds now = toSeconds(options_.clock());
    auto key = tls::generateEcdsaP256Key();
    if (!key) {
      return "cannot generate the CA root key: " + key.error();
    }
    auto cert = makeCaCertificate(**key, "Weft mesh root CA " + dateText(now),
                                  now - options_.backdate, now + kGeneratedRootValidity);
    if (!cert) {
      return "cannot make the CA root certificate: " + cert.error();
    }
    auto cert_pem = tls::writeCertificatePem(**cert);
    auto key_pem = tls::writePrivateKeyPem(**key);
    if (!cert_pem || !key_pem) {
      return "cannot encode the CA root: " + (cert_pem ? key_pem.error() : cert_pem.error());
    }
    if (std::string error = storage_->storeGeneratedRoot(*cert_pem, *key_pem); !error.empty()) {
      return "cannot store the generated CA root in " + storage_->location() + ": " + error;
    }
    caLog().info("generated a new ECDSA P-256 root CA, stored in {}", storage_->location());
    // Read back what was stored, so this start and every later one sign with the same bytes.
    files = storage_->load();
    if (!files) {
      return "CA " + storage_->location() + ": " + files.error();
    }
  }
  return install(*files);
}

std::string CertificateAuthority::reload() {
  auto files = storage_->load();
  std::string error;
  if (!files) {
    error = files.error();
  } else if (files->signing_cert.empty()) {
    error = "no signing certificate and key any more";
  } else {
    error = install(*files);
  }
  if (!error.empty()) {
    if (metrics_) {
      metrics_->reloadFailed();
    }
    return "CA " + storage_->location() + ": " + error + " (keeping the material in use)";
  }
  return {};
}

std::string CertificateAuthority::install(const CaFiles& files) {
  auto material = buildSigningMaterial(files, toSeconds(options_.clock()));
  if (!material) {
    return material.error();
  }
  const SigningMaterial& loaded = **material;
  caLog().info(
      "CA signing with {} (until {}) under root {}; {} certificate(s) between leaf and root, {} "
      "root(s) in the trust bundle",
      loaded.signing_subject, dateText(loaded.signing_cert_not_after), loaded.root_subject,
      loaded.chain_pem.size(), loaded.trust_bundle_size);
  if (metrics_) {
    metrics_->materialLoaded(loaded);
  }
  std::lock_guard lock(mutex_);
  material_ = std::move(*material);
  return {};
}

void CertificateAuthority::setTrustDomain(std::string trust_domain) {
  std::lock_guard lock(mutex_);
  if (trust_domain != trust_domain_) {
    caLog().info("CA issues identities in trust domain \"{}\"", trust_domain);
  }
  trust_domain_ = std::move(trust_domain);
}

SigningMaterialPtr CertificateAuthority::material() const {
  std::lock_guard lock(mutex_);
  return material_;
}

Decision<IssuedCertificate> CertificateAuthority::issue(const IssueRequest& request) const {
  SigningMaterialPtr material;
  std::string trust_domain;
  {
    std::lock_guard lock(mutex_);
    material = material_;
    trust_domain = trust_domain_;
  }
  if (material == nullptr) {
    return Rejection{RejectReason::kCaNotReady, "the CA has no signing material yet"};
  }
  if (trust_domain.empty()) {
    return Rejection{RejectReason::kCaNotReady, "the CA does not know the trust domain yet"};
  }
  const std::string id = spiffeId(trust_domain, request.identity);
  auto key = checkCsr(request.csr_pem, id);
  if (auto* rejection = std::get_if<Rejection>(&key)) {
    return std::move(*rejection);
  }

  const sys_seconds now = toSeconds(options_.clock());
  const std::chrono::seconds validity =
      std::min(request.validity.value_or(options_.max_validity), options_.max_validity);
  const sys_seconds not_before = now - options_.backdate;
  const sys_seconds not_after = std::min(now + validity, material->not_after);
  if (not_after <= now) {
    return Rejection{RejectReason::kSigningFailed, "the CA's certificate expired on " +
                                                       dateText(material->not_after) +
                                                       "; the CA needs a new signing certificate"};
  }
  auto leaf = issueSvid(*material, *std::get<tls::EvpPkeyPtr>(key), id, not_before, not_after);
  if (!leaf) {
    return Rejection{RejectReason::kSigningFailed, "cannot sign: " + leaf.error()};
  }
  auto leaf_pem = tls::writeCertificatePem(**leaf);
  if (!leaf_pem) {
    return Rejection{RejectReason::kSigningFailed, "cannot encode: " + leaf_pem.error()};
  }
  IssuedCertificate issued;
  issued.spiffe_id = id;
  issued.chain_pem.push_back(std::move(*leaf_pem));
  issued.chain_pem.insert(issued.chain_pem.end(), material->chain_pem.begin(),
                          material->chain_pem.end());
  issued.trust_bundle_pem = material->trust_bundle_pem;
  issued.not_before = not_before;
  issued.not_after = not_after;
  issued.serial = serialHex(**leaf);
  return issued;
}

}  // namespace weft::controlplane::ca
