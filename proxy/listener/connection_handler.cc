#include "proxy/listener/connection_handler.h"

#include <algorithm>

#include "common/log/logger.h"
#include "proxy/http2/server_connection.h"
#include "proxy/listener/original_destination.h"
#include "proxy/listener/protocol_sniffer.h"
#include "proxy/listener/socket_options.h"
#include "proxy/tcp/tcp_proxy_session.h"

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
  if (!detection.disabled && !opaque_port) {
    const SniffResult sniffed = co_await sniffProtocol(socket, initial_bytes, detection.timeout);
    if (sniffed.peer_closed && initial_bytes.size() == 0) {
      co_return;
    }
    facts.transport = sniffed.transport;
    facts.application_protocol = sniffed.application_protocol;
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
  if (chain->tcp) {
    co_await proxyTcpConnection(std::move(socket), std::move(initial_bytes), *chain->tcp, worker);
    co_return;
  }
  const HttpCodec codec = chain->http->codec;
  if (codec == HttpCodec::kHttp2 ||
      (codec == HttpCodec::kAuto && facts.application_protocol == "h2c" &&
       facts.transport != TransportKind::kTls)) {
    co_await serveHttp2Connection(std::move(socket), std::move(initial_bytes), listener->name,
                                  chain->name, worker);
    co_return;
  }
  if (facts.transport == TransportKind::kTls) {
    listenerLog().warn("listener '{}' chain '{}': {} is not served by this version; closed",
                       listener->name, chain->name, "TLS");
    co_return;
  }
  co_await serveHttp1Connection(std::move(socket), std::move(initial_bytes), listener->name,
                                chain->name, worker);
}

}  // namespace weft::proxy
