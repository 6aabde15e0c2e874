#include "proxy/tls/downstream_tls.h"

#include <openssl/err.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/tls/openssl_error.h"
#include "proxy/tls/mesh_identity.h"

namespace weft::proxy {

namespace asio = boost::asio;

asio::awaitable<AcceptedTls> acceptTls(DeadlineStream& stream, const DownstreamTlsConfig& tls,
                                       boost::beast::flat_buffer& initial_bytes) {
  AcceptedTls accepted;
  if (!tls.context) {
    accepted.failure = "TLS is not available on this chain: " + tls.unavailable;
    co_return accepted;
  }
  SSL* ssl = SSL_new(tls.context.get());
  if (ssl == nullptr) {
    accepted.failure = "cannot start TLS: " + weft::tls::opensslErrors();
    co_return accepted;
  }
  SSL_set_accept_state(ssl);
  const auto replay = initial_bytes.data();
  if (!stream.startTls(ssl,
                       std::string_view(static_cast<const char*>(replay.data()), replay.size()))) {
    accepted.failure = "cannot start TLS: out of memory";
    co_return accepted;
  }
  initial_bytes.consume(initial_bytes.size());
  stream.expires_after(tls.handshake_timeout);
  auto [error] = co_await stream.async_tls_handshake(asio::as_tuple(asio::use_awaitable));
  stream.expires_never();
  if (error) {
    if (const char* ours = meshVerifyFailure(*ssl)) {
      accepted.failure = ours;
    } else if (SSL_get_verify_result(ssl) != X509_V_OK) {
      accepted.failure = X509_verify_cert_error_string(SSL_get_verify_result(ssl));
    } else {
      accepted.failure = error.message();
    }
    ERR_clear_error();
    co_return accepted;
  }
  const unsigned char* alpn = nullptr;
  unsigned int alpn_length = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_length);
  accepted.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_length);
  accepted.principal = peerPrincipal(*ssl);
  accepted.resumed = SSL_session_reused(ssl) == 1;
  co_return accepted;
}

}  // namespace weft::proxy
