#include "controlplane/ca/svid_issuer.h"

#include <openssl/x509v3.h>

#include "common/tls/certificate_builder.h"

namespace weft::controlplane::ca {

tls::Result<tls::X509Ptr> issueSvid(const SigningMaterial& material, const EVP_PKEY& public_key,
                                    std::string_view spiffe_id, std::chrono::sys_seconds not_before,
                                    std::chrono::sys_seconds not_after) {
  tls::CertificateBuilder builder;
  builder.setSubjectKey(public_key)
      .setValidity(not_before, not_after)
      .setIssuer(material.signing_cert.get())
      .addUriSubjectAltName(spiffe_id, /*critical=*/true)
      .addExtension(NID_basic_constraints, "critical,CA:FALSE")
      .addExtension(NID_key_usage, "critical,digitalSignature")
      .addExtension(NID_ext_key_usage, "serverAuth,clientAuth")
      .addExtension(NID_subject_key_identifier, "hash");
  // The authority key identifier repeats the signing certificate's subject key identifier. A
  // user-supplied CA certificate may lack one (RFC 5280 asks for it, not every tool adds it):
  // then "keyid:always" would fail every signature after the certificate loaded fine, so the
  // leaf goes without, as Go's crypto/x509 does, and path building matches by name.
  if (X509_get0_subject_key_id(material.signing_cert.get()) != nullptr) {
    builder.addExtension(NID_authority_key_identifier, "keyid:always");
  }
  return builder.sign(*material.signing_key);
}

}  // namespace weft::controlplane::ca
