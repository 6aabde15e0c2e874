#pragma once

#include <string>

#include "common/tls/openssl_ptr.h"
#include "common/tls/result.h"
#include "proxy/identity/ca_client_config.h"
#include "weft/v1/ca.pb.h"
#include "weft/v1/core.pb.h"

namespace weft::proxy::identity {

// A CreateCertificateRequest and the private key its CSR was made with. The key is generated
// in memory for this request alone (every renewal has a fresh key) and never leaves the
// process: the request carries only the CSR, signed with it.
struct CertificateRequest {
  tls::EvpPkeyPtr key;
  weft::v1::CreateCertificateRequest message;
};

// A new key of the configured type and a request for it: the CSR (empty subject, no SAN: the CA
// names the workload from the credential, and the proxy does not know the mesh's trust domain,
// which the CA takes from its MeshConfig), the validity asked for, and for the CA's audit log
// the node's id, workload, namespace and service account and the proxy version.
tls::Result<CertificateRequest> makeCertificateRequest(const CaClientConfig& config,
                                                       const weft::v1::Node& node);

// A key of the given type.
tls::Result<tls::EvpPkeyPtr> generateWorkloadKey(
    weft::v1::CertificateAuthorityConfig::KeyType key_type);

}  // namespace weft::proxy::identity
