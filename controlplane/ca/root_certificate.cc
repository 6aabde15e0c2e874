#include "controlplane/ca/root_certificate.h"

#include <openssl/x509v3.h>

#include "common/tls/certificate_builder.h"

namespace weft::controlplane::ca {

tls::Result<tls::X509Ptr> makeCaCertificate(const EVP_PKEY& key, std::string_view common_name,
                                            std::chrono::sys_seconds not_before,
                                            std::chrono::sys_seconds not_after, const X509* issuer,
                                            const EVP_PKEY* issuer_key) {
  if ((issuer == nullptr) != (issuer_key == nullptr)) {
    return tls::Error{"an intermediate CA certificate needs both the issuer and its key"};
  }
  tls::CertificateBuilder builder;
  builder.setSubjectKey(key)
      .setSubjectName(common_name, "Weft")
      .setValidity(not_before, not_after)
      .setIssuer(issuer)
      .addExtension(NID_basic_constraints, "critical,CA:TRUE")
      .addExtension(NID_key_usage, "critical,keyCertSign,cRLSign")
      .addExtension(NID_subject_key_identifier, "hash")
      .addExtension(NID_authority_key_identifier, "keyid:always");
  return builder.sign(issuer_key != nullptr ? *issuer_key : key);
}

}  // namespace weft::controlplane::ca
