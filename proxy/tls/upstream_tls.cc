#include "proxy/tls/upstream_tls.h"

#include <openssl/err.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/tls/openssl_error.h"
#include "proxy/stats/security_counters.h"
#include "proxy/tls/mesh_identity.h"

namespace weft::proxy {

namespace {

namespace asio = boost::asio;

std::string describe(const asio::ip::tcp::endpoint& peer) {
  const auto address = peer.address();
  return (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" +
         std::to_string(peer.port());
}

uint64_t sessionKey(const UpstreamTransport& transport, const asio::ip::tcp::endpoint& peer) {
  uint64_t key = transport.tls->fingerprint;
  key = key * 1099511628211ULL ^ std::hash<std::string_view>()(transport.expected_identity);
  key = key * 1099511628211ULL ^ std::hash<unsigned short>()(peer.port());
  if (peer.address().is_v4()) {
    key = key * 1099511628211ULL ^ peer.address().to_v4().to_uint();
  } else {
    for (unsigned char byte : peer.address().to_v6().to_bytes()) {
      key = key * 1099511628211ULL ^ byte;
    }
  }
  return key;
}

}  // namespace

std::string_view meshAlpnOffer(std::string_view mesh_id) {
  // Length-prefixed constants, so no connection builds one.
  static constexpr std::string_view kHttp2 = "\x07weft-h2";
  static constexpr std::string_view kHttp1 = "\x0dweft-http/1.1";
  static constexpr std::string_view kTcp = "\x08weft-tcp";
  if (mesh_id == kMeshAlpnHttp2) {
    return kHttp2;
  }
  return mesh_id == kMeshAlpnHttp1 ? kHttp1 : kTcp;
}

asio::awaitable<std::string> startUpstreamTls(DeadlineStream& stream,
                                              const UpstreamTransport& transport,
                                              std::string_view alpn_wire,
                                              const asio::ip::tcp::endpoint& peer,
                                              TlsSessionCache& sessions) {
  const UpstreamTlsConfig& tls = *transport.tls;
  // Read before the handshake suspends: the settings belong to a snapshot that may go meanwhile
  // (the SSL object holds its own reference to the context).
  const bool mesh = tls.mode == UpstreamTlsConfig::Mode::kMesh;
  const std::string expected_identity(transport.expected_identity);
  if (!tls.context) {
    co_return "TLS to " + describe(peer) + " is not possible yet: " + tls.unavailable;
  }
  SSL* ssl = SSL_new(tls.context.get());
  if (ssl == nullptr) {
    co_return "TLS to " + describe(peer) + ": " + weft::tls::opensslErrors();
  }
  SSL_set_connect_state(ssl);
  if (!stream.startTls(ssl)) {  // owns it from here
    co_return "TLS to " + describe(peer) + ": out of memory";
  }
  if (!alpn_wire.empty()) {
    SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(alpn_wire.data()),
                        static_cast<unsigned int>(alpn_wire.size()));
  }
  if (!tls.sni.empty()) {
    SSL_set_tlsext_host_name(ssl, tls.sni.c_str());
    if (tls.mode != UpstreamTlsConfig::Mode::kMesh) {
      SSL_set1_host(ssl, tls.sni.c_str());  // RFC 6125 name check of the server certificate
    }
  }
  sessions.prepare(*ssl, sessionKey(transport, peer));
  auto [error] = co_await stream.async_tls_handshake(asio::as_tuple(asio::use_awaitable));
  if (error) {
    std::string reason;
    if (const char* ours = meshVerifyFailure(*ssl)) {
      reason = ours;
    } else if (SSL_get_verify_result(ssl) != X509_V_OK) {
      reason = X509_verify_cert_error_string(SSL_get_verify_result(ssl));
    } else {
      reason = error.message();
    }
    ERR_clear_error();
    count(securityCounters().upstream_tls_failures);
    co_return "TLS handshake with " + describe(peer) + " failed: " + reason;
  }
  if (mesh) {
    const std::string principal = peerPrincipal(*ssl);
    if (principal.empty() || (!expected_identity.empty() && principal != expected_identity)) {
      count(securityCounters().upstream_tls_failures);
      co_return "TLS peer " + describe(peer) + " is \"" + principal + "\", expected \"" +
          (expected_identity.empty() ? std::string("a mesh identity") : expected_identity) + "\"";
    }
  }
  co_return std::string();
}

}  // namespace weft::proxy
