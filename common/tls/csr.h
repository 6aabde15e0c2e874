#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/tls/openssl_ptr.h"
#include "common/tls/result.h"

namespace weft::tls {

// A PKCS#10 certificate signing request for `key`, signed with it (SHA-384 for keys stronger than
// 128 bits, SHA-256 otherwise, as CertificateBuilder signs). The subject is empty, as in an
// X.509-SVID: the CA names the workload from its credential. When `uri_san` is not empty the
// request asks for exactly that URI subjectAltName (a workload's SPIFFE id), encoded directly so
// any characters in it are taken literally.
Result<X509ReqPtr> makeCsr(const EVP_PKEY& key, std::string_view uri_san);

// The public key of a certificate signing request, after checking that the request is signed
// with the matching private key (proof that the requester holds it). The CA must issue only for
// keys that pass; an Error says why one did not.
Result<EvpPkeyPtr> verifiedCsrPublicKey(const X509_REQ& csr);

// The URI entries of the subjectAltName extension the request asks for, under the same rules as
// uriSans() for certificates: no extension gives an empty list; a duplicate or malformed
// extension, or a URI with an embedded NUL, is an Error.
Result<std::vector<std::string>> csrUriSans(const X509_REQ& csr);

}  // namespace weft::tls
