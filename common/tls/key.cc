#include "common/tls/key.h"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include "common/tls/openssl_error.h"

namespace weft::tls {

namespace {

Result<EvpPkeyPtr> generateEcKey(const char* group) {
  EvpPkeyCtxPtr context(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (context == nullptr || EVP_PKEY_keygen_init(context.get()) <= 0 ||
      EVP_PKEY_CTX_set_group_name(context.get(), group) <= 0) {
    return Error{std::string("cannot set up ") + group + " key generation: " + opensslErrors()};
  }
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_generate(context.get(), &key) <= 0) {
    return Error{std::string("cannot generate ") + group + " key: " + opensslErrors()};
  }
  return EvpPkeyPtr(key);
}

}  // namespace

Result<EvpPkeyPtr> generateEcdsaP256Key() {
  return generateEcKey("P-256");
}

Result<EvpPkeyPtr> generateEcdsaP384Key() {
  return generateEcKey("P-384");
}

Result<EvpPkeyPtr> generateRsaKey(unsigned bits) {
  if (bits < 2048) {
    return Error{"RSA keys need at least 2048 bits, not " + std::to_string(bits)};
  }
  EvpPkeyCtxPtr context(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  if (context == nullptr || EVP_PKEY_keygen_init(context.get()) <= 0 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(context.get(), static_cast<int>(bits)) <= 0) {
    return Error{"cannot set up RSA key generation: " + opensslErrors()};
  }
  EVP_PKEY* key = nullptr;
  if (EVP_PKEY_generate(context.get(), &key) <= 0) {
    return Error{"cannot generate RSA key: " + opensslErrors()};
  }
  return EvpPkeyPtr(key);
}

std::string describeKey(const EVP_PKEY& key) {
  switch (EVP_PKEY_get_base_id(&key)) {
    case EVP_PKEY_RSA:
      return "RSA " + std::to_string(EVP_PKEY_get_bits(&key));
    case EVP_PKEY_EC: {
      char group[80] = {};
      size_t length = 0;
      if (EVP_PKEY_get_group_name(&key, group, sizeof(group), &length) != 1) {
        ERR_clear_error();
        return "EC (unnamed curve)";
      }
      // NIST names for the curves people know by them; OpenSSL's short names otherwise.
      const int nid = OBJ_sn2nid(group);
      const char* nist = nid == NID_undef ? nullptr : EC_curve_nid2nist(nid);
      return std::string("EC ") + (nist != nullptr ? nist : group);
    }
    default: {
      const char* name = EVP_PKEY_get0_type_name(&key);
      return name != nullptr ? name : "unknown key type";
    }
  }
}

}  // namespace weft::tls
