#pragma once

#include "proxy/io/deadline_stream.h"
#include "proxy/listener/downstream_peer.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <string>

#include "proxy/http1/downstream_session.h"

namespace weft::proxy {

// Serves one downstream HTTP/2 connection (h2c with prior knowledge; the
// connection preface may already be in `initial_bytes`). Each stream is routed
// like an HTTP/1.1 request and forwarded to its cluster over HTTP/1.1 (the
// worker's keep-alive pool) or HTTP/2 (the worker's multiplexed connections).
//
// Memory per stream is bounded by flow control: request DATA is acknowledged
// (WINDOW_UPDATE) only once it went upstream, and response bodies are sent from
// deferred data providers fed as the upstream delivers. Draining sends GOAWAY
// and lets open streams finish.
boost::asio::awaitable<void> serveHttp2Connection(DeadlineStream stream, DownstreamPeer peer,
                                                  boost::beast::flat_buffer initial_bytes,
                                                  std::string listener_name, std::string chain_name,
                                                  WorkerContext& worker);

}  // namespace weft::proxy
