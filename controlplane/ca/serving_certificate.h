#pragma once

#include <chrono>
#include <span>
#include <string>

#include "common/tls/result.h"
#include "controlplane/ca/signing_material.h"

namespace weft::controlplane::ca {

// The control plane's own TLS server credentials for its gRPC port (xDS and the CA), signed by
// the mesh CA so that a proxy holding the mesh root can verify it.
struct ServingCredentials {
  // Leaf first, then the CA's chain up to (not including) the root.
  std::string chain_pem;
  // PKCS#8 PEM of a fresh ECDSA P-256 key, made for this certificate only.
  std::string key_pem;
  std::chrono::sys_seconds not_before;
  std::chrono::sys_seconds not_after;
};

// Makes a key and signs a server certificate for `hosts` (DNS names and IP literals, which a
// proxy checks against the name it dialed): subjectAltName with those entries only, no SPIFFE
// id (the control plane is not a mesh workload), basicConstraints CA:FALSE, keyUsage
// digitalSignature, extendedKeyUsage serverAuth. Valid from a minute before `now` for
// `validity`, never past the CA's own expiry.
tls::Result<ServingCredentials> issueServingCredentials(const SigningMaterial& material,
                                                        std::span<const std::string> hosts,
                                                        std::chrono::sys_seconds now,
                                                        std::chrono::seconds validity);

}  // namespace weft::controlplane::ca
