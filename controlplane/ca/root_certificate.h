#pragma once

#include <chrono>
#include <string_view>

#include "common/tls/openssl_ptr.h"
#include "common/tls/result.h"

namespace weft::controlplane::ca {

// How long a generated root is valid. Long, because replacing a root means a rotation through
// every proxy's trust bundle; the workload certificates it signs live a day.
inline constexpr std::chrono::seconds kGeneratedRootValidity = std::chrono::days(3650);

// A certificate authority's certificate for `key`: "O=Weft, CN=<common_name>", basicConstraints
// CA:TRUE (critical), keyUsage keyCertSign and cRLSign (critical), subject key identifier, and
// an authority key identifier naming the issuer. Self-signed (a root) when `issuer` is null,
// else signed by `issuer_key` as an intermediate under `issuer`. Valid from `not_before` to
// `not_after`.
tls::Result<tls::X509Ptr> makeCaCertificate(const EVP_PKEY& key, std::string_view common_name,
                                            std::chrono::sys_seconds not_before,
                                            std::chrono::sys_seconds not_after,
                                            const X509* issuer = nullptr,
                                            const EVP_PKEY* issuer_key = nullptr);

}  // namespace weft::controlplane::ca
