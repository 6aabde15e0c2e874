#include "common/tls/csr.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <memory>

#include "common/tls/openssl_error.h"
#include "common/tls/subject_alt_names.h"

namespace weft::tls {

namespace {

struct ExtensionStackFree {
  void operator()(STACK_OF(X509_EXTENSION) * extensions) const noexcept {
    sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
  }
};

using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, internal::OpensslFree<&GENERAL_NAMES_free>>;
using ExtensionsPtr = std::unique_ptr<STACK_OF(X509_EXTENSION), ExtensionStackFree>;

}  // namespace

Result<X509ReqPtr> makeCsr(const EVP_PKEY& key, std::string_view uri_san) {
  X509ReqPtr request(X509_REQ_new());
  if (request == nullptr || X509_REQ_set_version(request.get(), X509_REQ_VERSION_1) != 1 ||
      X509_REQ_set_pubkey(request.get(), const_cast<EVP_PKEY*>(&key)) != 1) {
    return Error{"cannot set up the certificate request: " + opensslErrors()};
  }
  if (!uri_san.empty()) {
    GeneralNamesPtr names(GENERAL_NAMES_new());
    GENERAL_NAME* name = GENERAL_NAME_new();
    ASN1_IA5STRING* uri = ASN1_IA5STRING_new();
    bool built = names != nullptr && name != nullptr && uri != nullptr &&
                 ASN1_STRING_set(uri, uri_san.data(), static_cast<int>(uri_san.size())) == 1;
    if (built) {
      GENERAL_NAME_set0_value(name, GEN_URI, uri);  // `name` owns `uri` from here
      uri = nullptr;
      built = sk_GENERAL_NAME_push(names.get(), name) > 0;
      if (built) {
        name = nullptr;  // owned by `names`
      }
    }
    ASN1_IA5STRING_free(uri);
    GENERAL_NAME_free(name);
    ExtensionsPtr extensions(sk_X509_EXTENSION_new_null());
    X509_EXTENSION* extension =
        built ? X509V3_EXT_i2d(NID_subject_alt_name, /*crit=*/1, names.get()) : nullptr;
    if (extension == nullptr || extensions == nullptr ||
        sk_X509_EXTENSION_push(extensions.get(), extension) <= 0) {
      X509_EXTENSION_free(extension);
      return Error{"cannot encode the requested subjectAltName: " + opensslErrors()};
    }
    if (X509_REQ_add_extensions(request.get(), extensions.get()) != 1) {
      return Error{"cannot add the requested subjectAltName: " + opensslErrors()};
    }
  }
  const EVP_MD* digest = EVP_PKEY_get_security_bits(&key) > 128 ? EVP_sha384() : EVP_sha256();
  if (X509_REQ_sign(request.get(), const_cast<EVP_PKEY*>(&key), digest) <= 0) {
    return Error{"cannot sign the certificate request: " + opensslErrors()};
  }
  return request;
}

Result<EvpPkeyPtr> verifiedCsrPublicKey(const X509_REQ& csr) {
  // OpenSSL 3.0 declares these without const although they only read the request.
  auto* request = const_cast<X509_REQ*>(&csr);
  EvpPkeyPtr key(X509_REQ_get_pubkey(request));
  if (key == nullptr) {
    return Error{"certificate request has no usable public key: " + opensslErrors()};
  }
  const int verified = X509_REQ_verify(request, key.get());
  if (verified != 1) {
    std::string reason = opensslErrors();
    return Error{"certificate request signature does not verify" +
                 (reason.empty() ? std::string() : ": " + reason)};
  }
  return key;
}

Result<std::vector<std::string>> csrUriSans(const X509_REQ& csr) {
  ExtensionsPtr extensions(X509_REQ_get_extensions(const_cast<X509_REQ*>(&csr)));
  if (extensions == nullptr) {
    // No extension request attribute, or one that does not decode: OpenSSL 3.0 answers both
    // with null, and only the second leaves an error queued.
    if (ERR_peek_error() != 0) {
      ERR_clear_error();
      return Error{"certificate request has a malformed extension request"};
    }
    return std::vector<std::string>{};
  }
  int critical = 0;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509V3_get_d2i(extensions.get(), NID_subject_alt_name, &critical, nullptr));
  return internal::uriSubjectAltNames(names, critical, "certificate request");
}

}  // namespace weft::tls
