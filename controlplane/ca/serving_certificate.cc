#include "controlplane/ca/serving_certificate.h"

#include <openssl/x509v3.h>

#include "common/tls/certificate_builder.h"
#include "common/tls/key.h"
#include "common/tls/pem.h"

namespace weft::controlplane::ca {

tls::Result<ServingCredentials> issueServingCredentials(const SigningMaterial& material,
                                                        std::span<const std::string> hosts,
                                                        std::chrono::sys_seconds now,
                                                        std::chrono::seconds validity) {
  const std::chrono::sys_seconds not_before = now - std::chrono::minutes(1);
  const std::chrono::sys_seconds not_after = std::min(now + validity, material.not_after);
  if (not_after <= now) {
    return tls::Error{"the CA's certificates have expired; cannot issue the serving certificate"};
  }
  auto key = tls::generateEcdsaP256Key();
  if (!key) {
    return tls::Error{key.error()};
  }
  tls::CertificateBuilder builder;
  builder.setSubjectKey(**key)
      .setValidity(not_before, not_after)
      .setIssuer(material.signing_cert.get())
      .addServerSubjectAltNames(hosts, /*critical=*/true)
      .addExtension(NID_basic_constraints, "critical,CA:FALSE")
      .addExtension(NID_key_usage, "critical,digitalSignature")
      .addExtension(NID_ext_key_usage, "serverAuth")
      .addExtension(NID_subject_key_identifier, "hash");
  if (X509_get0_subject_key_id(material.signing_cert.get()) != nullptr) {
    builder.addExtension(NID_authority_key_identifier, "keyid:always");
  }
  auto leaf = builder.sign(*material.signing_key);
  if (!leaf) {
    return tls::Error{"cannot sign the serving certificate: " + leaf.error()};
  }
  auto leaf_pem = tls::writeCertificatePem(**leaf);
  auto key_pem = tls::writePrivateKeyPem(**key);
  if (!leaf_pem || !key_pem) {
    return tls::Error{"cannot encode the serving certificate: " +
                      (leaf_pem ? key_pem.error() : leaf_pem.error())};
  }
  ServingCredentials out;
  out.chain_pem = std::move(*leaf_pem);
  for (const std::string& pem : material.chain_pem) {
    out.chain_pem += pem;
  }
  out.key_pem = std::move(*key_pem);
  out.not_before = not_before;
  out.not_after = not_after;
  return out;
}

}  // namespace weft::controlplane::ca
