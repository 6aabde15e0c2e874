#include "common/tls/csr.h"

#include "common/tls/openssl_error.h"

namespace weft::tls {

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

}  // namespace weft::tls
