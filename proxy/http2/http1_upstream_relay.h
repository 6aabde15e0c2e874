#pragma once

#include <boost/asio/awaitable.hpp>

#include "proxy/http2/stream_exchange.h"
#include "proxy/upstream/http1_connection_pool.h"

namespace weft::proxy {

// Forwards an HTTP/2 exchange to an HTTP/1.1 upstream: sends the request
// (Content-Length kept, otherwise chunked, trailers in the last chunk), then
// relays the response header, body and chunked trailers back into the exchange.
//
// Request body bytes are acknowledged to the downstream only once written
// upstream; the response is read only while less than a small bound waits for
// the client, so a slow side on either end never makes the proxy buffer more.
// Connections come from and return to the worker's keep-alive `pool`.
boost::asio::awaitable<void> relayToHttp1Upstream(StreamExchangePtr exchange, ForwardingFacts facts,
                                                  UpstreamTarget target, Http1ConnectionPool& pool);

}  // namespace weft::proxy
