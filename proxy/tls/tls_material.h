#pragma once

#include <string>
#include <vector>

#include "common/tls/openssl_ptr.h"
#include "common/tls/result.h"
#include "weft/v1/secret.pb.h"

namespace weft::proxy {

// A certificate chain (leaf first) with the private key for its leaf, from a TlsCertificate
// secret: what a TLS endpoint presents.
struct CertificateMaterial {
  std::vector<weft::tls::X509Ptr> chain;
  weft::tls::EvpPkeyPtr key;
};

// Trusted roots and the identity constraints of a ValidationContext secret: what a peer's
// certificate is checked against.
struct TrustMaterial {
  std::vector<weft::tls::X509Ptr> roots;
  std::string trust_domain;  // empty: any
};

// Reads inline PEM or the named files. Errors name the field and say what is wrong (unreadable
// file, no certificate, key not matching the leaf), in words fit for a NACK.
weft::tls::Result<CertificateMaterial> loadCertificateMaterial(
    const weft::v1::TlsCertificate& certificate);
weft::tls::Result<TrustMaterial> loadTrustMaterial(const weft::v1::ValidationContext& validation);

}  // namespace weft::proxy
