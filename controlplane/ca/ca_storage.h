#pragma once

#include <string>
#include <string_view>

#include "common/tls/result.h"

namespace weft::controlplane::ca {

// The CA's persistent state as PEM text, whatever keeps it. Names follow the files of a CA
// directory (and would be the keys of a Kubernetes Secret).
struct CaFiles {
  // ca-cert.pem: the certificate the CA signs with, a root or an intermediate.
  std::string signing_cert;
  // ca-key.pem: its private key.
  std::string signing_key;
  // root-cert.pem: the root the signing certificate chains to. Empty: the signing certificate
  // is itself the root.
  std::string root_cert;
  // cert-chain.pem: intermediates between the signing certificate and the root. Empty: the
  // signing certificate is issued by the root directly (or is the root).
  std::string cert_chain;
  // extra-roots.pem: further roots to trust beside the signing root, e.g. the old or the next
  // root during a rotation.
  std::string extra_roots;
};

// Where the CA's signing material lives. Local mode keeps it in a directory
// (DirectoryCaStorage); cluster mode will keep the same entries in a Kubernetes Secret, behind
// this same interface, so the CA itself does not change.
class CaStorage {
 public:
  virtual ~CaStorage() = default;

  // For logs: "directory /var/lib/weft/ca".
  virtual std::string location() const = 0;

  // The stored material. signing_cert and signing_key both empty means nothing is stored yet
  // (first start): the CA then generates a root and calls storeGeneratedRoot. One without the
  // other is an Error.
  virtual tls::Result<CaFiles> load() = 0;

  // Persists a root the CA generated (certificate and key, PEM). Must never replace material
  // that is already stored, so two instances starting at once cannot end up with different
  // roots. Returns an error text, empty on success.
  virtual std::string storeGeneratedRoot(std::string_view cert_pem, std::string_view key_pem) = 0;
};

}  // namespace weft::controlplane::ca
