#pragma once

#include <openssl/x509v3.h>

#include <chrono>
#include <string>

#include "common/tls/certificate_builder.h"
#include "common/tls/csr.h"
#include "common/tls/key.h"
#include "common/tls/pem.h"
#include "weft/v1/ca.pb.h"

namespace weft::proxy::identity::testing {

// A P-256 root that signs certificate requests the way the control plane's CA does: the
// identity it is told, the CSR's key, the validity it is given. Answers are built as
// CreateCertificateResponses, so tests can also break them.
class TestAuthority {
 public:
  TestAuthority() {
    key_ = tls::generateEcdsaP256Key().value();
    const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    tls::CertificateBuilder builder;
    builder.setSubjectKey(*key_)
        .setSubjectName("test mesh root")
        .setValidity(now - std::chrono::hours(24), now + std::chrono::hours(24 * 365))
        .addExtension(NID_basic_constraints, "critical,CA:TRUE")
        .addExtension(NID_key_usage, "critical,keyCertSign,cRLSign")
        .addExtension(NID_subject_key_identifier, "hash");
    root_ = builder.sign(*key_).value();
  }

  std::string rootPem() const { return *tls::writeCertificatePem(*root_); }

  // A leaf for the key of `csr_pem` naming `spiffe_id` (none when empty), valid over
  // [not_before, not_after].
  weft::v1::CreateCertificateResponse sign(const std::string& csr_pem, const std::string& spiffe_id,
                                           std::chrono::sys_seconds not_before,
                                           std::chrono::sys_seconds not_after) const {
    auto csr = tls::readCsrPem(csr_pem).value();
    auto key = tls::verifiedCsrPublicKey(*csr).value();
    return signKey(*key, spiffe_id, not_before, not_after);
  }

  weft::v1::CreateCertificateResponse signKey(const EVP_PKEY& key, const std::string& spiffe_id,
                                              std::chrono::sys_seconds not_before,
                                              std::chrono::sys_seconds not_after) const {
    tls::CertificateBuilder builder;
    builder.setSubjectKey(key).setValidity(not_before, not_after).setIssuer(root_.get());
    builder.addExtension(NID_basic_constraints, "critical,CA:FALSE");
    builder.addExtension(NID_key_usage, "critical,digitalSignature,keyEncipherment");
    builder.addExtension(NID_ext_key_usage, "serverAuth,clientAuth");
    if (!spiffe_id.empty()) {
      builder.addUriSubjectAltName(spiffe_id, true);
    }
    auto leaf = builder.sign(*key_).value();
    weft::v1::CreateCertificateResponse response;
    response.add_certificate_chain(*tls::writeCertificatePem(*leaf));
    response.set_trust_bundle(rootPem());
    response.mutable_expiry()->set_seconds(not_after.time_since_epoch().count());
    return response;
  }

 private:
  tls::EvpPkeyPtr key_;
  tls::X509Ptr root_;
};

}  // namespace weft::proxy::identity::testing
