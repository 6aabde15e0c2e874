#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/tls/openssl_ptr.h"
#include "proxy/router/request_match.h"
#include "weft/v1/bootstrap.pb.h"

namespace weft::proxy::xds {

// TLS from the proxy to the control plane (bootstrap.proto's ControlPlaneTls), read once from
// the bootstrap. A roots file (ca_file) is read again at every connect, so a rotated mesh root
// (a ConfigMap the kubelet updates in place) is used without a restart; inline roots (ca_pem)
// are parsed once, here, so bad text stops the proxy at start rather than at every connect.
//
// The server is authenticated either by name (server_name, by default the host the proxy
// dials: OpenSSL's DNS-name or IP-address check, RFC 6125) or, when match_subject_alt_names is
// given, by one of its URI or DNS subjectAltNames matching one of the patterns.
class ControlPlaneTls {
 public:
  // Null with the reason in `error` (starting with `field_path`) when the settings cannot be
  // used: no roots, ca_pem without a readable certificate, present_workload_certificate asked
  // for, or an invalid pattern.
  static std::shared_ptr<const ControlPlaneTls> from(const weft::v1::ControlPlaneTls& tls,
                                                     const std::string& dialed_host,
                                                     const std::string& field_path,
                                                     std::string& error);

  // A client context for one connection: TLS 1.2 or later, the roots of ca_file or ca_pem, the
  // server's certificate verified, ALPN "h2". Null and `error` when ca_file is unreadable or
  // holds no certificate.
  std::unique_ptr<boost::asio::ssl::context> makeContext(std::string& error) const;

  // Before the handshake: SNI (for a DNS name), and the name OpenSSL checks during it.
  bool prepare(SSL* ssl, std::string& error) const;

  // After the handshake: "h2" was agreed, and the subjectAltName patterns match. Empty when
  // the server is the one configured; otherwise why not.
  std::string checkPeer(SSL* ssl) const;

  const std::string& serverName() const { return server_name_; }
  // Where the roots come from, for messages: the file's path, or "the inline ca_pem".
  const std::string& rootsSource() const { return roots_source_; }

 private:
  std::string ca_file_;  // empty with inline roots
  std::vector<tls::X509Ptr> inline_roots_;
  std::string roots_source_;
  std::string server_name_;
  bool server_name_is_address_ = false;
  std::vector<std::shared_ptr<const ValueMatcher>> san_patterns_;
};

}  // namespace weft::proxy::xds
