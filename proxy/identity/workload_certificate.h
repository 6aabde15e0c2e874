#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "common/tls/certificate.h"
#include "common/tls/openssl_ptr.h"
#include "common/tls/result.h"
#include "weft/v1/ca.pb.h"
#include "weft/v1/core.pb.h"

namespace weft::proxy::identity {

// A certificate the CA issued to this proxy, checked and ready to serve.
struct WorkloadCertificate {
  // PEM, leaf first, then the intermediates the CA returned.
  std::string certificate_chain_pem;
  // PKCS#8 PEM of the key the CSR was made with. Goes into the "identity" secret only; never
  // logged, and /config_dump redacts it.
  std::string private_key_pem;
  // The mesh roots returned with the certificate (the "trust-bundle" secret until the control
  // plane sends one).
  std::string trust_bundle_pem;
  std::string spiffe_id;     // the leaf's one URI SAN
  std::string trust_domain;  // its host part
  std::string serial;        // hexadecimal
  std::string key_type;      // "EC P-256", ...
  tls::CertificateValidity validity;
  size_t chain_length = 0;
};

// What the proxy knows of the identity it should get: from the node's namespace and service
// account, when the bootstrap gives both. The trust domain is the CA's to choose.
struct ExpectedIdentity {
  std::string namespace_name;
  std::string service_account;
};
ExpectedIdentity expectedIdentity(const weft::v1::Node& node);

// Checks a CreateCertificateResponse, which is untrusted input, and makes the certificate of
// it. Refused (an Error saying why): a response breaking ca.proto's rules, PEM that does not
// parse, a leaf that is not for `key`, not valid at `now` or expired, without exactly one
// spiffe:// URI SAN, naming another namespace or service account than `expected`, or that
// does not verify with the returned intermediates up to the returned trust bundle.
tls::Result<WorkloadCertificate> acceptIssuedCertificate(
    const weft::v1::CreateCertificateResponse& response, const EVP_PKEY& key,
    const ExpectedIdentity& expected, std::chrono::sys_seconds now);

}  // namespace weft::proxy::identity
