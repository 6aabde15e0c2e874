#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <string>

#include "proxy/http1/downstream_session.h"

namespace weft::proxy {

// Takes a newly accepted connection through the listener's pipeline: original
// destination (transparent listeners), protocol detection, filter chain
// selection, then the chain's handler (HTTP/1.1 session or TCP proxy).
// Connections that fit no chain, or that were not redirected to a transparent
// listener, are closed and logged.
boost::asio::awaitable<void> handleConnection(boost::asio::ip::tcp::socket socket,
                                              std::string listener_name, WorkerContext& worker);

}  // namespace weft::proxy
