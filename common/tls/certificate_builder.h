#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/tls/openssl_ptr.h"
#include "common/tls/result.h"

namespace weft::tls {

// Assembles and signs one X.509 v3 certificate. Each setter records the first failure and the
// ones after it do nothing, so a certificate is described as a straight sequence of calls and
// checked once, in sign():
//
//   CertificateBuilder builder;
//   builder.setSubjectKey(key).setValidity(from, to).setIssuer(&ca_cert)
//       .addExtension(NID_basic_constraints, "critical,CA:FALSE");
//   Result<X509Ptr> cert = builder.sign(ca_key);
//
// The serial number is 128 random bits (RFC 5280 allows 20 octets; CA/Browser Forum rules ask
// for at least 64 unpredictable bits), so two certificates from one CA never share it without a
// ledger of issued serials.
class CertificateBuilder {
 public:
  CertificateBuilder();

  // The public key the certificate certifies.
  CertificateBuilder& setSubjectKey(const EVP_PKEY& key);

  // "CN=<common_name>" (with "O=<organization>" before it when given); an empty subject is the
  // default, as an X.509-SVID has.
  CertificateBuilder& setSubjectName(std::string_view common_name,
                                     std::string_view organization = {});

  CertificateBuilder& setValidity(std::chrono::sys_seconds not_before,
                                  std::chrono::sys_seconds not_after);

  // The issuing CA's certificate, whose subject becomes the issuer name and whose key
  // identifier becomes the authority key identifier. Null (the default): self-signed.
  CertificateBuilder& setIssuer(const X509* issuer);

  // An extension in OpenSSL's configuration syntax ("critical,CA:FALSE", "digitalSignature",
  // "serverAuth,clientAuth", "hash", "keyid:always"). Only for fixed values the caller writes:
  // the syntax gives commas and colons meaning, so text from outside must never be passed here
  // (see addUriSubjectAltName).
  CertificateBuilder& addExtension(int nid, const std::string& value);

  // A subjectAltName holding exactly one URI, encoded directly rather than through the
  // configuration syntax, so any characters in `uri` are taken literally.
  CertificateBuilder& addUriSubjectAltName(std::string_view uri, bool critical);

  // A subjectAltName naming a server: each entry an iPAddress when it is an IPv4 or IPv6
  // literal, a dNSName otherwise (taken literally, like the URI above). At least one entry.
  CertificateBuilder& addServerSubjectAltNames(std::span<const std::string> hosts, bool critical);

  // Signs with the issuer's key (the subject key's private half when self-signed): SHA-384 for
  // keys over 256 bits of EC or 3072 bits of RSA strength, SHA-256 otherwise. The builder is
  // spent afterwards.
  Result<X509Ptr> sign(const EVP_PKEY& issuer_key);

 private:
  void fail(std::string message);
  CertificateBuilder& addSubjectAltNames(std::span<const std::string> hosts, std::string_view uri,
                                         bool critical);

  X509Ptr cert_;
  const X509* issuer_ = nullptr;
  std::optional<std::string> error_;
};

}  // namespace weft::tls
