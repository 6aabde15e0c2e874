#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/tls/openssl_ptr.h"
#include "common/tls/result.h"

namespace weft::tls {

// The URI entries of the certificate's subjectAltName extension, in order: for a workload
// certificate, its SPIFFE id ("spiffe://<trust-domain>/ns/<ns>/sa/<sa>"). Other kinds of
// names (DNS, IP, ...) are skipped. No extension means an empty list. An extension that is
// malformed, present twice, or holds a URI with an embedded NUL is an Error: whoever reads this
// is deciding on an identity, and a name that could be read two ways must not pass.
Result<std::vector<std::string>> uriSans(const X509& cert);

// Second precision, as in the certificate. sys_seconds rather than system_clock::time_point
// because the latter counts nanoseconds in 64 bits, which cannot hold the year 9999 that
// RFC 5280 prescribes for "no expiry".
struct CertificateValidity {
  std::chrono::sys_seconds not_before;
  std::chrono::sys_seconds not_after;
};

Result<CertificateValidity> certificateValidity(const X509& cert);

// The serial number in upper-case hexadecimal without separators ("3F09A1..."), as `openssl x509
// -serial` prints it; "?" when it cannot be read (memory exhausted).
std::string serialNumberHex(const X509& cert);

// Whether `key` is the private key for the public key in `cert`: a certificate signed by the CA
// must be checked against the key it is meant for before it is served.
bool certificateMatchesKey(const X509& cert, const EVP_PKEY& key);

// A new OpenSSL stack holding its own references to the certificates, for the APIs that take a
// STACK_OF(X509) (untrusted chains in verification, SSL_CTX_set1_chain).
Result<X509StackPtr> makeX509Stack(std::span<const X509Ptr> certs);

// Verifies `leaf` up to one of `roots` (trust anchors), using `untrusted` as candidate
// intermediates, with OpenSSL's standard checks (signatures, validity at `at` or now, CA flags
// and key usage of issuers, path length). Returns the path that verified, leaf first and the
// root last; an Error names OpenSSL's reason and the depth it failed at.
Result<std::vector<X509Ptr>> verifiedChain(const X509& leaf, std::span<const X509Ptr> untrusted,
                                           std::span<const X509Ptr> roots,
                                           std::optional<std::chrono::sys_seconds> at = {});

}  // namespace weft::tls
