#include "proxy/identity/workload_certificate.h"

#include <algorithm>
#include <span>
#include <vector>

#include "common/config/proto_validator.h"
#include "common/tls/key.h"
#include "common/tls/pem.h"

namespace weft::proxy::identity {
namespace {

constexpr std::string_view kSpiffeScheme = "spiffe://";

// The rule of ValidationContext.trust_domain (secret.proto), which the trust-bundle secret made
// from this certificate carries.
bool isValidTrustDomain(std::string_view domain) {
  if (domain.empty() || domain.size() > 255 || domain.front() == '.' || domain.front() == '_' ||
      domain.front() == '-' || domain.back() == '.' || domain.back() == '_' ||
      domain.back() == '-') {
    return false;
  }
  for (const char c : domain) {
    const bool allowed =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!allowed) {
      return false;
    }
  }
  return true;
}

}  // namespace

ExpectedIdentity expectedIdentity(const weft::v1::Node& node) {
  return {node.namespace_(), node.service_account()};
}

tls::Result<WorkloadCertificate> acceptIssuedCertificate(
    const weft::v1::CreateCertificateResponse& response, const EVP_PKEY& key,
    const ExpectedIdentity& expected, std::chrono::sys_seconds now) {
  if (config::ConfigErrors errors = config::validateMessage(response); !errors.empty()) {
    return tls::Error{"invalid response: " + errors.front().field_path + ": " +
                      errors.front().reason};
  }
  std::vector<tls::X509Ptr> chain;
  for (int i = 0; i < response.certificate_chain_size(); ++i) {
    auto certificate = tls::readCertificatePem(response.certificate_chain(i));
    if (!certificate) {
      return tls::Error{"certificate_chain[" + std::to_string(i) + "]: " + certificate.error()};
    }
    chain.push_back(std::move(*certificate));
  }
  auto roots = tls::readCertificateChainPem(response.trust_bundle());
  if (!roots) {
    return tls::Error{"trust_bundle: " + roots.error()};
  }
  const X509& leaf = *chain.front();
  if (!tls::certificateMatchesKey(leaf, key)) {
    return tls::Error{"the certificate is not for the key of the request"};
  }
  auto validity = tls::certificateValidity(leaf);
  if (!validity) {
    return tls::Error{validity.error()};
  }
  if (validity->not_after <= now) {
    return tls::Error{"the certificate has already expired"};
  }
  auto uris = tls::uriSans(leaf);
  if (!uris) {
    return tls::Error{uris.error()};
  }
  if (uris->size() != 1 || !uris->front().starts_with(kSpiffeScheme)) {
    return tls::Error{"the certificate must name exactly one spiffe:// URI, it names " +
                      std::to_string(uris->size()) + " URI(s)"};
  }
  const std::string& spiffe_id = uris->front();
  const size_t path = spiffe_id.find('/', kSpiffeScheme.size());
  const std::string trust_domain =
      spiffe_id.substr(kSpiffeScheme.size(),
                       path == std::string::npos ? std::string::npos : path - kSpiffeScheme.size());
  if (!isValidTrustDomain(trust_domain)) {
    return tls::Error{"the certificate's SPIFFE id " + spiffe_id + " has no valid trust domain"};
  }
  if (!expected.namespace_name.empty() && !expected.service_account.empty()) {
    const std::string wanted = "/ns/" + expected.namespace_name + "/sa/" + expected.service_account;
    if (path == std::string::npos || spiffe_id.substr(path) != wanted) {
      return tls::Error{"the certificate names " + spiffe_id + ", but the node is " + wanted +
                        " (node.namespace and node.service_account): is the token file the "
                        "workload's?"};
    }
  }
  // At notBefore when our clock is behind the CA's: a skewed clock must not turn every answer
  // into a failure (peers with the CA's time accept the certificate).
  auto verified = tls::verifiedChain(leaf, std::span<const tls::X509Ptr>(chain).subspan(1),
                                     roots.value(), std::max(now, validity->not_before));
  if (!verified) {
    return tls::Error{"the certificate does not verify up to the returned trust bundle: " +
                      verified.error()};
  }
  auto key_pem = tls::writePrivateKeyPem(key);
  auto chain_pem = tls::writeCertificateChainPem(chain);
  auto bundle_pem = tls::writeCertificateChainPem(roots.value());
  if (!key_pem || !chain_pem || !bundle_pem) {
    return tls::Error{"cannot encode the certificate: out of memory"};
  }
  WorkloadCertificate out;
  out.certificate_chain_pem = std::move(*chain_pem);
  out.private_key_pem = std::move(*key_pem);
  out.trust_bundle_pem = std::move(*bundle_pem);
  out.spiffe_id = spiffe_id;
  out.trust_domain = trust_domain;
  out.serial = tls::serialNumberHex(leaf);
  out.key_type = tls::describeKey(key);
  out.validity = *validity;
  out.chain_length = chain.size();
  return out;
}

}  // namespace weft::proxy::identity
