#pragma once

#include "common/tls/openssl_ptr.h"
#include "common/tls/result.h"

namespace weft::tls {

// A new ECDSA key on NIST P-256 (prime256v1), the one key type Weft issues and uses for workload
// identities: small certificates, fast handshakes, supported by every TLS peer.
Result<EvpPkeyPtr> generateEcdsaP256Key();

}  // namespace weft::tls
