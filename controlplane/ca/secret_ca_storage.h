#pragma once

#include <string>

#include "common/kube/api_client.h"
#include "controlplane/ca/ca_storage.h"

namespace weft::controlplane::ca {

// Cluster mode's CA storage: one Kubernetes Secret whose data keys are the files of a CA
// directory (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem, extra-roots.pem), so an
// operator moves between the two, or supplies their own root, with `kubectl create secret
// generic --from-file`. Only the control plane's service account should be able to read it.
//
// The Secret must be absent (a root is then generated into it) or hold at least ca-cert.pem and
// ca-key.pem; an empty one is refused with a message saying so.
//
// A generated root is stored with a create (POST), which the API server refuses with 409 when
// the Secret exists: two replicas starting together both generate a root, one create wins, and
// the loser reads the winner's root back (CertificateAuthority::start reads back after storing),
// so the mesh never has two roots. The Secret is never updated or deleted here; a rotation adds
// extra-roots.pem by hand, then SIGHUP, as in local mode.
class SecretCaStorage final : public CaStorage {
 public:
  // `namespace_name` and `name` are checked by the caller (checkDns1123Label/Subdomain).
  SecretCaStorage(kube::ApiClient client, std::string namespace_name, std::string name);

  std::string location() const override;
  tls::Result<CaFiles> load() override;
  std::string storeGeneratedRoot(std::string_view cert_pem, std::string_view key_pem) override;

  // The CA files in a Secret's JSON (the body of a GET), apart from the transport, for tests.
  // An Error unless it holds both data.ca-cert.pem and data.ca-key.pem.
  static tls::Result<CaFiles> parseSecret(const std::string& body);
  // The body of the create request for a generated root.
  std::string secretForRoot(std::string_view cert_pem, std::string_view key_pem) const;

 private:
  kube::ApiClient client_;
  std::string namespace_;
  std::string name_;
};

}  // namespace weft::controlplane::ca
