#pragma once

#include <chrono>
#include <string_view>

#include "common/tls/openssl_ptr.h"
#include "common/tls/result.h"
#include "controlplane/ca/signing_material.h"

namespace weft::controlplane::ca {

// Signs an X.509-SVID (the SPIFFE X.509 profile) for `public_key`: an empty subject; exactly
// one URI SAN, `spiffe_id`, in a critical subjectAltName (critical because the subject is
// empty, RFC 5280 4.2.1.6); basicConstraints CA:FALSE (critical); keyUsage digitalSignature
// (critical); extendedKeyUsage serverAuth and clientAuth, since every workload is both a server
// and a client in the mesh; subject and authority key identifiers; a random 128-bit serial.
// Valid from `not_before` to `not_after`: the caller applies the validity policy.
tls::Result<tls::X509Ptr> issueSvid(const SigningMaterial& material, const EVP_PKEY& public_key,
                                    std::string_view spiffe_id, std::chrono::sys_seconds not_before,
                                    std::chrono::sys_seconds not_after);

}  // namespace weft::controlplane::ca
