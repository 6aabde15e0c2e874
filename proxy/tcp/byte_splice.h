#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>

#include "proxy/io/deadline_stream.h"

namespace weft::proxy {

// Copies bytes both ways between two connected sockets until each direction
// has seen EOF (or an error), or until nothing moved either way for `idle`
// (0: no idle limit). Half-close is passed on: EOF from one side shuts down
// sending to the other, which may go on talking. Memory: one fixed buffer per
// direction. The sockets are left open; the caller closes them.
//
// Shared by opaque TCP proxying and HTTP/1.1 upgrades (WebSocket), which
// become a byte tunnel once the upstream has answered 101. Either side may carry
// TLS: its half-close is a close_notify.
// Returns the bytes moved each way.
struct SplicedBytes {
  uint64_t a_to_b = 0;
  uint64_t b_to_a = 0;
};
boost::asio::awaitable<SplicedBytes> spliceBytes(DeadlineStream& a, DeadlineStream& b,
                                                 std::chrono::milliseconds idle);

}  // namespace weft::proxy
