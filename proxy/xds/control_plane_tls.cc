#include "proxy/xds/control_plane_tls.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>

#include "common/tls/openssl_error.h"
#include "common/tls/pem.h"

namespace weft::proxy::xds {
namespace {

constexpr unsigned char kAlpnH2[] = {2, 'h', '2'};

// The URI and DNS entries of the certificate's subjectAltName. False when the extension is
// there twice or cannot be decoded: then no name is trusted. An entry with a NUL byte is
// skipped (no pattern may match a name that C code would read shorter).
bool uriAndDnsNames(X509* cert, std::vector<std::string>& out) {
  int critical = -1;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, &critical, nullptr));
  if (names == nullptr) {
    ERR_clear_error();
    return critical == -1;  // -1: absent (no names); -2: repeated; otherwise undecodable
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_URI || name->type == GEN_DNS) {
      const ASN1_IA5STRING* text =
          name->type == GEN_URI ? name->d.uniformResourceIdentifier : name->d.dNSName;
      const std::string_view value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                                   static_cast<size_t>(ASN1_STRING_length(text)));
      if (value.find('\0') == std::string_view::npos) {
        out.emplace_back(value);
      }
    }
  }
  GENERAL_NAMES_free(names);
  return true;
}

}  // namespace

std::shared_ptr<const ControlPlaneTls> ControlPlaneTls::from(const weft::v1::ControlPlaneTls& tls,
                                                             const std::string& dialed_host,
                                                             const std::string& field_path,
                                                             std::string& error) {
  if (tls.present_workload_certificate().value()) {
    error = field_path +
            ".present_workload_certificate: is not implemented by this version of weft-proxy "
            "yet; remove it (the proxy authenticates to the control plane with its token)";
    return nullptr;
  }
  auto out = std::make_shared<ControlPlaneTls>();
  switch (tls.roots_case()) {
    case weft::v1::ControlPlaneTls::kCaFile:
      if (tls.ca_file().empty()) {
        error = field_path + ".ca_file: must not be empty";
        return nullptr;
      }
      out->ca_file_ = tls.ca_file();
      out->roots_source_ = tls.ca_file();
      break;
    case weft::v1::ControlPlaneTls::kCaPem: {
      auto roots = tls::readCertificateChainPem(tls.ca_pem());
      if (!roots) {
        error = field_path + ".ca_pem: no usable root certificates: " + roots.error();
        return nullptr;
      }
      out->inline_roots_ = std::move(*roots);
      out->roots_source_ = "the inline ca_pem";
      break;
    }
    default:
      // The schema requires one; this must not depend on it.
      error = field_path + ": one of ca_file, ca_pem is required";
      return nullptr;
  }
  out->server_name_ = tls.server_name().empty() ? dialed_host : tls.server_name();
  boost::system::error_code not_address;
  boost::asio::ip::make_address(out->server_name_, not_address);
  out->server_name_is_address_ = !not_address;
  for (int i = 0; i < tls.match_subject_alt_names_size(); ++i) {
    auto pattern = std::make_shared<ValueMatcher>();
    std::string regex_error;
    if (!readStringCondition(tls.match_subject_alt_names(i), *pattern, regex_error)) {
      // An empty matcher would match any name; the schema requires one member, but this
      // must not depend on it.
      error = field_path + ".match_subject_alt_names[" + std::to_string(i) +
              "]: give exact, prefix, suffix, contains or regex";
      return nullptr;
    }
    if (!regex_error.empty()) {
      error =
          field_path + ".match_subject_alt_names[" + std::to_string(i) + "].regex: " + regex_error;
      return nullptr;
    }
    out->san_patterns_.push_back(std::move(pattern));
  }
  return out;
}

std::unique_ptr<boost::asio::ssl::context> ControlPlaneTls::makeContext(std::string& error) const {
  auto context = std::make_unique<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  ERR_clear_error();
  if (!ca_file_.empty()) {
    if (SSL_CTX_load_verify_locations(native, ca_file_.c_str(), nullptr) != 1) {
      error =
          "cannot load the control plane's roots from " + ca_file_ + ": " + tls::opensslErrors();
      return nullptr;
    }
  } else {
    // The store takes its own reference to each certificate.
    X509_STORE* store = SSL_CTX_get_cert_store(native);
    for (const tls::X509Ptr& root : inline_roots_) {
      if (X509_STORE_add_cert(store, root.get()) != 1) {
        error = "cannot add a root of " + roots_source_ + ": " + tls::opensslErrors();
        return nullptr;
      }
    }
  }
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_set_alpn_protos(native, kAlpnH2, sizeof(kAlpnH2)) != 0) {
    error = "cannot offer ALPN h2: " + tls::opensslErrors();
    return nullptr;
  }
  return context;
}

bool ControlPlaneTls::prepare(SSL* ssl, std::string& error) const {
  // SNI carries host names only (RFC 6066 section 3).
  if (!server_name_is_address_ && !server_name_.empty() &&
      SSL_set_tlsext_host_name(ssl, server_name_.c_str()) != 1) {
    error = "cannot set the server name " + server_name_ + ": " + tls::opensslErrors();
    return false;
  }
  if (!san_patterns_.empty()) {
    return true;  // checked after the handshake, against the patterns
  }
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  const int set = server_name_is_address_
                      ? X509_VERIFY_PARAM_set1_ip_asc(param, server_name_.c_str())
                      : X509_VERIFY_PARAM_set1_host(param, server_name_.c_str(), 0);
  if (set != 1) {
    error = "cannot check the server name " + server_name_ + ": " + tls::opensslErrors();
    return false;
  }
  return true;
}

std::string ControlPlaneTls::checkPeer(SSL* ssl) const {
  const unsigned char* protocol = nullptr;
  unsigned int protocol_length = 0;
  SSL_get0_alpn_selected(ssl, &protocol, &protocol_length);
  if (std::string_view(reinterpret_cast<const char*>(protocol), protocol_length) != "h2") {
    return "the control plane did not agree to HTTP/2 (ALPN h2)";
  }
  if (san_patterns_.empty()) {
    return {};  // OpenSSL checked the name during the handshake
  }
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) {
    return "the control plane sent no certificate";
  }
  std::vector<std::string> names;
  if (!uriAndDnsNames(cert, names)) {
    return "the control plane's certificate has a malformed or repeated subjectAltName";
  }
  for (const std::string& name : names) {
    for (const auto& pattern : san_patterns_) {
      if (pattern->matches(name)) {
        return {};
      }
    }
  }
  std::string listed;
  for (const std::string& name : names) {
    listed.append(listed.empty() ? "" : ", ").append(name);
  }
  return "no subjectAltName of the control plane's certificate (" +
         (listed.empty() ? std::string("none") : listed) + ") matches match_subject_alt_names";
}

}  // namespace weft::proxy::xds
