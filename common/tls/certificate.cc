#include "common/tls/certificate.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <ctime>
#include <string_view>

#include "common/tls/openssl_error.h"
#include "common/tls/subject_alt_names.h"

namespace weft::tls {

namespace {

Result<std::chrono::sys_seconds> toSysSeconds(const ASN1_TIME* time, std::string_view field) {
  std::tm parts{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) {
    ERR_clear_error();
    return Error{"certificate has an invalid " + std::string(field) + " time"};
  }
  using namespace std::chrono;
  const year_month_day date{year{parts.tm_year + 1900},
                            month{static_cast<unsigned>(parts.tm_mon + 1)},
                            day{static_cast<unsigned>(parts.tm_mday)}};
  if (!date.ok()) {
    return Error{"certificate has an invalid " + std::string(field) + " date"};
  }
  return sys_days{date} + hours{parts.tm_hour} + minutes{parts.tm_min} + seconds{parts.tm_sec};
}

}  // namespace

Result<std::vector<std::string>> uriSans(const X509& cert) {
  int critical = 0;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(&cert, NID_subject_alt_name, &critical, nullptr));
  return internal::uriSubjectAltNames(names, critical, "certificate");
}

Result<CertificateValidity> certificateValidity(const X509& cert) {
  auto not_before = toSysSeconds(X509_get0_notBefore(&cert), "notBefore");
  if (!not_before) {
    return Error{not_before.error()};
  }
  auto not_after = toSysSeconds(X509_get0_notAfter(&cert), "notAfter");
  if (!not_after) {
    return Error{not_after.error()};
  }
  return CertificateValidity{*not_before, *not_after};
}

std::string serialNumberHex(const X509& cert) {
  BIGNUM* number = ASN1_INTEGER_to_BN(X509_get0_serialNumber(&cert), nullptr);
  char* hex = number != nullptr ? BN_bn2hex(number) : nullptr;
  std::string out = hex != nullptr ? hex : "?";
  OPENSSL_free(hex);
  BN_free(number);
  ERR_clear_error();
  return out;
}

bool certificateMatchesKey(const X509& cert, const EVP_PKEY& key) {
  const bool matches = X509_check_private_key(&cert, &key) == 1;
  ERR_clear_error();  // a mismatch is an answer, not an error to leave queued
  return matches;
}

Result<X509StackPtr> makeX509Stack(std::span<const X509Ptr> certs) {
  X509StackPtr stack(sk_X509_new_null());
  if (stack == nullptr) {
    return Error{"cannot allocate certificate stack: " + opensslErrors()};
  }
  for (const X509Ptr& cert : certs) {
    if (cert == nullptr) {
      return Error{"null certificate in chain"};
    }
    if (sk_X509_push(stack.get(), cert.get()) <= 0) {
      return Error{"cannot grow certificate stack: " + opensslErrors()};
    }
    // The stack now holds the pointer and frees it when released, so it needs its own reference.
    X509_up_ref(cert.get());
  }
  return stack;
}

Result<std::vector<X509Ptr>> verifiedChain(const X509& leaf, std::span<const X509Ptr> untrusted,
                                           std::span<const X509Ptr> roots,
                                           std::optional<std::chrono::sys_seconds> at) {
  X509StorePtr store(X509_STORE_new());
  if (store == nullptr) {
    return Error{"cannot allocate certificate store: " + opensslErrors()};
  }
  for (const X509Ptr& root : roots) {
    if (root == nullptr || X509_STORE_add_cert(store.get(), root.get()) != 1) {
      return Error{"cannot add a root to the certificate store: " + opensslErrors()};
    }
  }
  auto intermediates = makeX509Stack(untrusted);
  if (!intermediates) {
    return Error{intermediates.error()};
  }
  const X509StoreCtxPtr context(X509_STORE_CTX_new());
  // OpenSSL 3.0 takes the leaf without const although verification only reads it.
  if (context == nullptr ||
      X509_STORE_CTX_init(context.get(), store.get(), const_cast<X509*>(&leaf),
                          intermediates->get()) != 1) {
    return Error{"cannot set up certificate verification: " + opensslErrors()};
  }
  if (at) {
    X509_STORE_CTX_set_time(context.get(), 0, static_cast<time_t>(at->time_since_epoch().count()));
  }
  if (X509_verify_cert(context.get()) != 1) {
    const int code = X509_STORE_CTX_get_error(context.get());
    const int depth = X509_STORE_CTX_get_error_depth(context.get());
    ERR_clear_error();
    return Error{std::string("certificate chain does not verify: ") +
                 X509_verify_cert_error_string(code) + " (at depth " + std::to_string(depth) + ")"};
  }
  STACK_OF(X509)* path = X509_STORE_CTX_get0_chain(context.get());
  std::vector<X509Ptr> chain;
  for (int i = 0; i < sk_X509_num(path); ++i) {
    X509* cert = sk_X509_value(path, i);
    X509_up_ref(cert);
    chain.emplace_back(cert);
  }
  return chain;
}

}  // namespace weft::tls
