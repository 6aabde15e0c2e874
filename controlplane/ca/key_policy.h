#pragma once

#include <optional>
#include <string>

#include "common/tls/openssl_ptr.h"

namespace weft::controlplane::ca {

// The keys the CA certifies and signs with (ca.proto): ECDSA on P-256 or P-384, or RSA with at
// least 2048 bits. Anything else (RSA-1024, other curves, Ed25519, DSA, RSA-PSS-only keys) is
// refused: weak, or not accepted by every TLS peer in the mesh.
//
// Nullopt when `key` is allowed, else why not ("RSA 1024: RSA keys need at least 2048 bits").
std::optional<std::string> keyPolicyViolation(const EVP_PKEY& key);

}  // namespace weft::controlplane::ca
