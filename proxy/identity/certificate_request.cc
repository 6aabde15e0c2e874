#include "proxy/identity/certificate_request.h"

#include "common/tls/csr.h"
#include "common/tls/key.h"
#include "common/tls/pem.h"
#include "common/version/version.h"

namespace weft::proxy::identity {

tls::Result<tls::EvpPkeyPtr> generateWorkloadKey(
    weft::v1::CertificateAuthorityConfig::KeyType key_type) {
  switch (key_type) {
    case weft::v1::CertificateAuthorityConfig::ECDSA_P384:
      return tls::generateEcdsaP384Key();
    case weft::v1::CertificateAuthorityConfig::RSA_2048:
      return tls::generateRsaKey(2048);
    default:
      return tls::generateEcdsaP256Key();
  }
}

tls::Result<CertificateRequest> makeCertificateRequest(const CaClientConfig& config,
                                                       const weft::v1::Node& node) {
  auto key = generateWorkloadKey(config.key_type);
  if (!key) {
    return tls::Error{key.error()};
  }
  auto csr = tls::makeCsr(**key, "");
  if (!csr) {
    return tls::Error{csr.error()};
  }
  auto pem = tls::writeCsrPem(**csr);
  if (!pem) {
    return tls::Error{pem.error()};
  }
  CertificateRequest request{std::move(*key), {}};
  request.message.set_csr(std::move(*pem));
  request.message.mutable_validity()->set_seconds(config.validity.count());
  auto& metadata = *request.message.mutable_metadata()->mutable_fields();
  metadata["node_id"].set_string_value(node.id());
  metadata["proxy_version"].set_string_value(
      node.proxy_version().empty() ? std::string(weft::version()) : node.proxy_version());
  if (!node.workload_name().empty()) {
    metadata["workload"].set_string_value(node.workload_name());
  }
  if (!node.namespace_().empty()) {
    metadata["namespace"].set_string_value(node.namespace_());
  }
  if (!node.service_account().empty()) {
    metadata["service_account"].set_string_value(node.service_account());
  }
  return request;
}

}  // namespace weft::proxy::identity
