#pragma once

#include <optional>
#include <string>

#include "controlplane/ca/ca_storage.h"

namespace weft::controlplane::ca {

// Local mode's CA storage: a directory (--ca-dir) holding ca-cert.pem, ca-key.pem and the
// optional root-cert.pem, cert-chain.pem and extra-roots.pem (see CaFiles). A generated root is
// written with the key file at mode 0600, each file to a temporary name first and then renamed
// into place without replacing an existing file, so a crash never leaves a half-written file
// under the real name and two starts cannot overwrite each other's root.
class DirectoryCaStorage final : public CaStorage {
 public:
  explicit DirectoryCaStorage(std::string directory);

  std::string location() const override;
  tls::Result<CaFiles> load() override;
  std::string storeGeneratedRoot(std::string_view cert_pem, std::string_view key_pem) override;

  static constexpr const char* kSigningCertFile = "ca-cert.pem";
  static constexpr const char* kSigningKeyFile = "ca-key.pem";
  static constexpr const char* kRootCertFile = "root-cert.pem";
  static constexpr const char* kCertChainFile = "cert-chain.pem";
  static constexpr const char* kExtraRootsFile = "extra-roots.pem";

 private:
  std::string pathOf(const char* file) const;
  // The file's text; nullopt when it does not exist.
  tls::Result<std::optional<std::string>> readOptional(const char* file) const;

  std::string directory_;
};

}  // namespace weft::controlplane::ca
