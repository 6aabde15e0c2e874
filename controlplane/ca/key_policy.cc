#include "controlplane/ca/key_policy.h"

#include "common/tls/key.h"

namespace weft::controlplane::ca {

std::optional<std::string> keyPolicyViolation(const EVP_PKEY& key) {
  const std::string description = tls::describeKey(key);
  switch (EVP_PKEY_get_base_id(&key)) {
    case EVP_PKEY_EC:
      if (description == "EC P-256" || description == "EC P-384") {
        return std::nullopt;
      }
      return description + ": ECDSA keys must be on P-256 or P-384";
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(&key) >= 2048) {
        return std::nullopt;
      }
      return description + ": RSA keys need at least 2048 bits";
    default:
      return description + ": the key must be ECDSA (P-256, P-384) or RSA (2048 bits or more)";
  }
}

}  // namespace weft::controlplane::ca
