#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <memory>

namespace weft::tls {

namespace internal {

// Deleter calling an OpenSSL *_free function; as a stateless type it keeps the unique_ptr the
// size of a raw pointer.
template <auto FreeFunction>
struct OpensslFree {
  template <class T>
  void operator()(T* object) const noexcept {
    FreeFunction(object);
  }
};

// A stack owns the certificates in it: popping and freeing them all is what releasing it means.
struct X509StackFree {
  void operator()(STACK_OF(X509) * stack) const noexcept { sk_X509_pop_free(stack, X509_free); }
};

}  // namespace internal

// Owning pointers to OpenSSL objects. Each frees exactly one reference; to share an object,
// take a reference (X509_up_ref, EVP_PKEY_up_ref, ...) and wrap that in its own pointer.
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, internal::OpensslFree<&EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, internal::OpensslFree<&EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, internal::OpensslFree<&EVP_MD_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, internal::OpensslFree<&X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, internal::OpensslFree<&X509_REQ_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, internal::OpensslFree<&X509_STORE_free>>;
using X509StoreCtxPtr =
    std::unique_ptr<X509_STORE_CTX, internal::OpensslFree<&X509_STORE_CTX_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, internal::OpensslFree<&X509_NAME_free>>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), internal::X509StackFree>;
// BIO_free_all so a chain of BIOs (e.g. base64 over memory) goes with its head.
using BioPtr = std::unique_ptr<BIO, internal::OpensslFree<&BIO_free_all>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, internal::OpensslFree<&SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, internal::OpensslFree<&SSL_free>>;

}  // namespace weft::tls
