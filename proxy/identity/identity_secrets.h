#pragma once

#include <vector>

#include "proxy/identity/workload_certificate.h"
#include "weft/v1/bootstrap.pb.h"
#include "weft/v1/secret.pb.h"

namespace weft::proxy::identity {

// The secrets a workload certificate provides: "identity" (the chain and its key, inline) unless
// `with_identity` is false (the certificate expired and is withdrawn), and "trust-bundle" (the
// roots returned with it, and the trust domain of its SPIFFE id).
std::vector<weft::v1::Secret> identitySecrets(const WorkloadCertificate& certificate,
                                              bool with_identity);

// Adds to `config`'s static secrets each of `secrets` whose name is not there already: a
// trust-bundle from the bootstrap file or the control plane takes precedence over the CA's.
void addMissingSecrets(const std::vector<weft::v1::Secret>& secrets, weft::v1::Bootstrap& config);

}  // namespace weft::proxy::identity
