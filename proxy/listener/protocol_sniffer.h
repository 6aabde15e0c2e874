#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <string>
#include <string_view>

#include "proxy/snapshot/snapshot.h"

namespace weft::proxy {

// What the first bytes of a connection say about its protocol.
enum class Classification { kNeedMore, kTls, kHttp2Preface, kHttp1, kOpaque };

// Classifies a connection's first bytes without side effects; kNeedMore while
// they are a proper prefix of something recognisable.
Classification classifyFirstBytes(std::string_view bytes);

struct SniffResult {
  TransportKind transport = TransportKind::kPlaintext;
  std::string_view application_protocol;  // "http/1.1", "h2c" or empty (static strings)
  bool peer_closed = false;               // EOF or error before anything was decided
};

// Reads a new connection's first bytes into `buffer` (they are kept there for
// the handler to consume, not lost) until they decide the protocol or `timeout`
// passes. A timeout means a server-first or silent protocol: opaque plaintext.
boost::asio::awaitable<SniffResult> sniffProtocol(boost::asio::ip::tcp::socket& socket,
                                                  boost::beast::flat_buffer& buffer,
                                                  std::chrono::milliseconds timeout);

}  // namespace weft::proxy
