#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/tls/openssl_ptr.h"
#include "common/tls/result.h"

namespace weft::tls {

// PEM encoding and decoding of keys, certificates and CSRs.
//
// Readers take text that may come from a file or the network and never crash on it: empty,
// garbage, truncated or mistyped input yields an Error, either "no <object> found in PEM input"
// (nothing of the expected type is there) or "PEM parse error: <OpenSSL's reason>" (something is
// there but broken). Text outside PEM blocks (comments, blank lines) is ignored, as OpenSSL
// does. Readers never prompt for a passphrase: an encrypted private key is an error.
//
// Writers only fail when memory runs out.

// Reads the first private key (PKCS#8 "PRIVATE KEY", or traditional "EC PRIVATE KEY" /
// "RSA PRIVATE KEY").
Result<EvpPkeyPtr> readPrivateKeyPem(std::string_view pem);

// Writes an unencrypted PKCS#8 "PRIVATE KEY" block. Protect the result like the key itself.
Result<std::string> writePrivateKeyPem(const EVP_PKEY& key);

// Reads the first certificate; any that follow are ignored (see readCertificateChainPem).
Result<X509Ptr> readCertificatePem(std::string_view pem);

// Reads every certificate, in order (for a chain: leaf first, then intermediates). At least one
// is required, and a broken block anywhere fails the whole read rather than returning a
// silently shortened chain.
Result<std::vector<X509Ptr>> readCertificateChainPem(std::string_view pem);

Result<std::string> writeCertificatePem(const X509& cert);

// Concatenated "CERTIFICATE" blocks, in the order given.
Result<std::string> writeCertificateChainPem(std::span<const X509Ptr> chain);

// Reads the first "CERTIFICATE REQUEST" (or legacy "NEW CERTIFICATE REQUEST"). Parsing does not
// check the signature: see verifiedCsrPublicKey().
Result<X509ReqPtr> readCsrPem(std::string_view pem);

Result<std::string> writeCsrPem(const X509_REQ& csr);

}  // namespace weft::tls
