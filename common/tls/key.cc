#include "common/tls/key.h"

#include "common/tls/openssl_error.h"

namespace weft::tls {

Result<EvpPkeyPtr> generateEcdsaP256Key() {
  EvpPkeyCtxPtr context(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (context == nullptr || EVP_PKEY_keygen_init(context.get()) <= 0 ||
      EVP_PKEY_CTX_set_group_name(context.get(), "P-256") <= 0) {
    return Error{"cannot set up P-256 key generation: " + opensslErrors()};
  }
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_generate(context.get(), &key) <= 0) {
    return Error{"cannot generate P-256 key: " + opensslErrors()};
  }
  return EvpPkeyPtr(key);
}

}  // namespace weft::tls
