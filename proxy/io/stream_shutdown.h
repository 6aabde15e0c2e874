#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>

#include "proxy/io/deadline_stream.h"

namespace weft::proxy {

// Stops sending on `stream` and lets the peer know: for TLS a close_notify alert (within
// `timeout`, should the peer not read), then for both a TCP FIN. Reading stays possible, so
// the peer may go on talking (half-close).
boost::asio::awaitable<void> shutdownSending(
    DeadlineStream& stream, std::chrono::milliseconds timeout = std::chrono::seconds(1));

}  // namespace weft::proxy
