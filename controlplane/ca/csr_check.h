#pragma once

#include <string_view>

#include "common/tls/openssl_ptr.h"
#include "controlplane/ca/rejection.h"

namespace weft::controlplane::ca {

// Everything the CA requires of a certificate signing request before it signs: it parses
// (kMalformedCsr), is signed by the key it carries, proving the caller holds it
// (kBadCsrSignature), carries a key the policy allows (kUnsupportedKey, key_policy.h), and asks
// for no identity but the caller's: if it names URI SANs, there is exactly one and it equals
// `spiffe_id` (kIdentityMismatch). Everything else in the request (subject, DNS names, other
// extensions) is ignored, since the CA writes the certificate from the credential alone.
//
// Returns the verified public key to certify.
Decision<tls::EvpPkeyPtr> checkCsr(std::string_view csr_pem, std::string_view spiffe_id);

}  // namespace weft::controlplane::ca
