#include "proxy/listener/connection_handler.h"

#include <algorithm>

#include "common/log/logger.h"
#include "proxy/authz/request_authorization.h"
#include "proxy/http2/server_connection.h"
#include "proxy/listener/original_destination.h"
#include "proxy/listener/protocol_sniffer.h"
#include "proxy/listener/socket_options.h"
#include "proxy/stats/security_counters.h"
#include "proxy/tcp/tcp_proxy_session.h"
#include "proxy/tls/downstream_tls.h"

namespace weft::proxy {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

spdlog::logger& listenerLog() {
  static spdlog::logger& logger = weft::log::logger("listener");
  return logger;
}

}  // namespace

asio::awaitable<void> handleConnection(tcp::socket socket, std::string listener_name,
                                       WorkerContext& worker) {
  // The snapshot as of accept time decides the chain; the chain's handler then
  // follows config changes itself.
  const SnapshotPtr snapshot = worker.snapshot;
  const ListenerConfig* listener = snapshot->findListener(listener_name);
  if (listener == nullptr) {
    co_return;
  }
  boost::system::error_code error;
  if (listener->keepalive) {
    applyKeepalive(socket, *listener->keepalive);
  }
  ConnectionFacts facts;
  facts.source = socket.remote_endpoint(error);
  facts.destination = socket.local_endpoint(error);
  if (error) {
    co_return;  // the peer is already gone
  }
  if (listener->transparent) {
    const auto original = originalDestination(socket);
    if (!original || *original == facts.destination) {
      // Not redirected: a client dialled the capture port itself. Serving it
      // would send the proxy's traffic back into the proxy.
      listenerLog().warn("listener '{}': connection from {} was not redirected; closed",
                         listener->name, facts.source.address().to_string());
      co_return;
    }
    facts.destination = *original;
  }

  boost::beast::flat_buffer initial_bytes;
  const auto& detection = listener->detection;
  const bool opaque_port = std::find(detection.opaque_ports.begin(), detection.opaque_ports.end(),
                                     facts.destination.port()) != detection.opaque_ports.end();
  const bool sniffed = !detection.disabled && !opaque_port;
  if (sniffed) {
    const SniffResult result = co_await sniffProtocol(socket, initial_bytes, detection.timeout);
    if (result.peer_closed && initial_bytes.size() == 0) {
      co_return;
    }
    facts.transport = result.transport;
    facts.application_protocol = result.application_protocol;
  }

  const FilterChainConfig* chain = listener->selectChain(facts);
  if (chain == nullptr) {
    listenerLog().warn(
        "listener '{}': no filter chain fits the connection from {} to {}:{} "
        "(protocol '{}'); closed",
        listener->name, facts.source.address().to_string(), facts.destination.address().to_string(),
        facts.destination.port(), facts.application_protocol);
    co_return;
  }

  DeadlineStream stream(std::move(socket));
  DownstreamPeer peer{facts.source, facts.destination, {}, std::string(facts.server_name), false};
  std::string alpn;
  if (chain->tls) {
    // Without detection nothing says what arrives: a chain that requires TLS takes it as TLS.
    const bool tls_arrived = facts.transport == TransportKind::kTls ||
                             (!sniffed && chain->tls->mode == DownstreamTlsConfig::Mode::kStrict);
    if (tls_arrived) {
      AcceptedTls accepted = co_await acceptTls(stream, *chain->tls, initial_bytes);
      if (!accepted.failure.empty()) {
        count(chain->tls->context ? securityCounters().tls_handshake_failures
                                  : securityCounters().tls_unavailable);
        listenerLog().warn("listener '{}' chain '{}': TLS handshake from {} failed: {}; closed",
                           listener->name, chain->name, facts.source.address().to_string(),
                           accepted.failure);
        co_return;
      }
      peer.tls = true;
      peer.principal = std::move(accepted.principal);
      alpn = std::move(accepted.alpn);
    } else if (chain->tls->mode == DownstreamTlsConfig::Mode::kStrict) {
      count(securityCounters().tls_plaintext_refused);
      listenerLog().warn(
          "listener '{}' chain '{}': plaintext connection from {} refused: the chain requires "
          "mTLS (STRICT)",
          listener->name, chain->name, facts.source.address().to_string());
      co_return;
    }
  } else if (facts.transport == TransportKind::kTls && chain->http) {
    listenerLog().warn(
        "listener '{}' chain '{}': TLS connection from {} refused: the chain does not terminate "
        "TLS (no tls block) and serves HTTP",
        listener->name, chain->name, facts.source.address().to_string());
    co_return;
  }

  if (chain->tcp) {
    if (chain->authorization && !authorizeConnection(*chain->authorization, peer, listener->name)) {
      co_return;
    }
    co_await proxyTcpConnection(std::move(stream), std::move(peer), std::move(initial_bytes),
                                *listener, *chain->tcp, worker);
    co_return;
  }
  const HttpCodec codec = chain->http->codec;
  const bool http2 =
      codec == HttpCodec::kHttp2 ||
      (codec == HttpCodec::kAuto &&
       (peer.tls ? (alpn == "h2" || alpn == kMeshAlpnHttp2) : facts.application_protocol == "h2c"));
  if (http2) {
    co_await serveHttp2Connection(std::move(stream), std::move(peer), std::move(initial_bytes),
                                  listener->name, chain->name, worker);
    co_return;
  }
  co_await serveHttp1Connection(std::move(stream), std::move(peer), std::move(initial_bytes),
                                listener->name, chain->name, worker);
}

}  // namespace weft::proxy
