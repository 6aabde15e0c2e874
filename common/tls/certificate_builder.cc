#include "common/tls/certificate_builder.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "common/tls/openssl_error.h"

namespace weft::tls {

namespace {

using BignumPtr = std::unique_ptr<BIGNUM, internal::OpensslFree<&BN_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, internal::OpensslFree<&ASN1_INTEGER_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, internal::OpensslFree<&GENERAL_NAMES_free>>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, internal::OpensslFree<&X509_EXTENSION_free>>;

constexpr int kSerialBits = 128;

bool setRandomSerial(X509& cert) {
  BignumPtr serial(BN_new());
  // A zero serial is not allowed; at 2^-128 it is not worth more than a retry.
  do {
    if (serial == nullptr ||
        BN_rand(serial.get(), kSerialBits, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) {
      return false;
    }
  } while (BN_is_zero(serial.get()));
  Asn1IntegerPtr integer(BN_to_ASN1_INTEGER(serial.get(), nullptr));
  return integer != nullptr && X509_set_serialNumber(&cert, integer.get()) == 1;
}

time_t toTimeT(std::chrono::sys_seconds time) {
  return static_cast<time_t>(time.time_since_epoch().count());
}

const EVP_MD* digestFor(const EVP_PKEY& key) {
  // Match the hash to the key's strength (NIST SP 800-57): P-384 and RSA-3072+ deserve SHA-384.
  return EVP_PKEY_get_security_bits(&key) > 128 ? EVP_sha384() : EVP_sha256();
}

}  // namespace

CertificateBuilder::CertificateBuilder() : cert_(X509_new()) {
  if (cert_ == nullptr || X509_set_version(cert_.get(), X509_VERSION_3) != 1) {
    fail("cannot allocate certificate: " + opensslErrors());
  } else if (!setRandomSerial(*cert_)) {
    fail("cannot draw a random serial number: " + opensslErrors());
  }
}

void CertificateBuilder::fail(std::string message) {
  if (!error_) {
    error_ = std::move(message);
  }
}

CertificateBuilder& CertificateBuilder::setSubjectKey(const EVP_PKEY& key) {
  if (!error_ && X509_set_pubkey(cert_.get(), const_cast<EVP_PKEY*>(&key)) != 1) {
    fail("cannot set the certificate's public key: " + opensslErrors());
  }
  return *this;
}

CertificateBuilder& CertificateBuilder::setSubjectName(std::string_view common_name,
                                                       std::string_view organization) {
  if (error_) {
    return *this;
  }
  X509_NAME* name = X509_get_subject_name(cert_.get());
  auto add = [&](const char* field, std::string_view value) {
    return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(value.data()),
                                      static_cast<int>(value.size()), -1, 0) == 1;
  };
  if ((!organization.empty() && !add("O", organization)) || !add("CN", common_name)) {
    fail("cannot set the certificate's subject: " + opensslErrors());
  }
  return *this;
}

CertificateBuilder& CertificateBuilder::setValidity(std::chrono::sys_seconds not_before,
                                                    std::chrono::sys_seconds not_after) {
  if (error_) {
    return *this;
  }
  if (not_after <= not_before) {
    fail("certificate validity ends before it starts");
  } else if (ASN1_TIME_set(X509_getm_notBefore(cert_.get()), toTimeT(not_before)) == nullptr ||
             ASN1_TIME_set(X509_getm_notAfter(cert_.get()), toTimeT(not_after)) == nullptr) {
    fail("cannot set the certificate's validity: " + opensslErrors());
  }
  return *this;
}

CertificateBuilder& CertificateBuilder::setIssuer(const X509* issuer) {
  issuer_ = issuer;
  return *this;
}

CertificateBuilder& CertificateBuilder::addExtension(int nid, const std::string& value) {
  if (error_) {
    return *this;
  }
  // The issuer is set in the context at each call because extensions such as the authority
  // key identifier read it; the subject (this certificate) gives the subject key identifier.
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509* issuer = const_cast<X509*>(issuer_ != nullptr ? issuer_ : cert_.get());
  X509V3_set_ctx(&context, issuer, cert_.get(), nullptr, nullptr, 0);
  ExtensionPtr extension(X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str()));
  if (extension == nullptr || X509_add_ext(cert_.get(), extension.get(), -1) != 1) {
    fail(std::string("cannot add the ") + OBJ_nid2sn(nid) + " extension: " + opensslErrors());
  }
  return *this;
}

CertificateBuilder& CertificateBuilder::addUriSubjectAltName(std::string_view uri, bool critical) {
  return addSubjectAltNames({}, uri, critical);
}

CertificateBuilder& CertificateBuilder::addServerSubjectAltNames(std::span<const std::string> hosts,
                                                                 bool critical) {
  if (hosts.empty()) {
    fail("a server certificate needs at least one DNS name or IP address");
    return *this;
  }
  return addSubjectAltNames(hosts, {}, critical);
}

CertificateBuilder& CertificateBuilder::addSubjectAltNames(std::span<const std::string> hosts,
                                                           std::string_view uri, bool critical) {
  if (error_) {
    return *this;
  }
  GeneralNamesPtr names(GENERAL_NAMES_new());
  bool built = names != nullptr;
  // Takes `value` (an IA5String or an OCTET STRING) whatever happens.
  auto push = [&](int type, ASN1_STRING* value) {
    GENERAL_NAME* name = built && value != nullptr ? GENERAL_NAME_new() : nullptr;
    if (name == nullptr) {
      ASN1_STRING_free(value);
      built = false;
      return;
    }
    GENERAL_NAME_set0_value(name, type, value);  // name owns value from here
    if (sk_GENERAL_NAME_push(names.get(), name) <= 0) {
      GENERAL_NAME_free(name);
      built = false;
    }
  };
  auto ia5 = [&](std::string_view text) -> ASN1_STRING* {
    ASN1_IA5STRING* value = ASN1_IA5STRING_new();
    if (value != nullptr &&
        ASN1_STRING_set(value, text.data(), static_cast<int>(text.size())) != 1) {
      ASN1_IA5STRING_free(value);
      return nullptr;
    }
    return value;
  };
  for (const std::string& host : hosts) {
    // An address literal is an iPAddress entry (RFC 5280 4.2.1.6), which is what a client
    // that dialed the address checks; anything else is a dNSName.
    if (ASN1_OCTET_STRING* address = a2i_IPADDRESS(host.c_str())) {
      push(GEN_IPADD, address);
    } else {
      ERR_clear_error();
      push(GEN_DNS, ia5(host));
    }
  }
  if (!uri.empty()) {
    push(GEN_URI, ia5(uri));
  }
  if (!built || X509_add1_ext_i2d(cert_.get(), NID_subject_alt_name, names.get(), critical ? 1 : 0,
                                  X509V3_ADD_DEFAULT) != 1) {
    fail("cannot add the subjectAltName extension: " + opensslErrors());
  }
  return *this;
}

Result<X509Ptr> CertificateBuilder::sign(const EVP_PKEY& issuer_key) {
  if (!error_) {
    const X509* issuer = issuer_ != nullptr ? issuer_ : cert_.get();
    if (X509_set_issuer_name(cert_.get(), X509_get_subject_name(issuer)) != 1) {
      fail("cannot set the certificate's issuer: " + opensslErrors());
    } else if (X509_sign(cert_.get(), const_cast<EVP_PKEY*>(&issuer_key), digestFor(issuer_key)) <=
               0) {
      fail("cannot sign the certificate: " + opensslErrors());
    }
  }
  if (error_) {
    return Error{*error_};
  }
  return std::move(cert_);
}

}  // namespace weft::tls
