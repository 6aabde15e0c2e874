#include "common/tls/certificate.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <ctime>
#include <string_view>

#include "common/tls/openssl_error.h"

namespace weft::tls {

namespace {

using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, internal::OpensslFree<&GENERAL_NAMES_free>>;

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
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(&cert, NID_subject_alt_name, &critical, nullptr)));
  if (names == nullptr) {
    // -1: no such extension; -2: more than one; otherwise it is there but does not decode.
    ERR_clear_error();
    if (critical == -1) {
      return std::vector<std::string>{};
    }
    return Error{critical == -2 ? "certificate has more than one subjectAltName extension"
                                : "certificate has a malformed subjectAltName extension"};
  }
  std::vector<std::string> uris;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name == nullptr || name->type != GEN_URI) {
      continue;
    }
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    const int length = ASN1_STRING_length(uri);
    const auto* data = reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri));
    if (data == nullptr || length < 0) {
      return Error{"certificate has a malformed URI subjectAltName"};
    }
    std::string value(data, static_cast<size_t>(length));
    if (value.find('\0') != std::string::npos) {
      return Error{"certificate has a URI subjectAltName with an embedded NUL"};
    }
    uris.push_back(std::move(value));
  }
  return uris;
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

}  // namespace weft::tls
