#pragma once

#include <string>

#include "common/tls/openssl_ptr.h"
#include "common/tls/result.h"

namespace weft::tls {

// A new ECDSA key on NIST P-256 (prime256v1), the one key type Weft issues and uses for workload
// identities: small certificates, fast handshakes, supported by every TLS peer.
Result<EvpPkeyPtr> generateEcdsaP256Key();

// A new ECDSA key on NIST P-384 (secp384r1), for meshes whose policy asks for a larger curve.
Result<EvpPkeyPtr> generateEcdsaP384Key();

// A new RSA key of `bits` bits (at least 2048; smaller sizes are an Error), public exponent 65537,
// for peers that cannot verify ECDSA. Generation takes tens of milliseconds at 2048 bits.
Result<EvpPkeyPtr> generateRsaKey(unsigned bits);

// The key's algorithm and size in words, for policy decisions and error messages: "EC P-256",
// "EC P-384", "RSA 2048", or OpenSSL's name of any other type ("ED25519", "EC secp256k1").
std::string describeKey(const EVP_PKEY& key);

}  // namespace weft::tls
