#pragma once

#include "common/tls/openssl_ptr.h"
#include "common/tls/result.h"

namespace weft::tls {

// The public key of a certificate signing request, after checking that the request is signed
// with the matching private key (proof that the requester holds it). The CA must issue only for
// keys that pass; an Error says why one did not.
Result<EvpPkeyPtr> verifiedCsrPublicKey(const X509_REQ& csr);

}  // namespace weft::tls
