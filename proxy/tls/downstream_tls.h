#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <string>

#include "proxy/io/deadline_stream.h"
#include "proxy/tls/tls_contexts.h"

namespace weft::proxy {

// What the TLS handshake of an accepted connection established.
struct AcceptedTls {
  std::string failure;    // empty on success; else why, for the log line
  std::string alpn;       // the protocol selected, empty when the client offered none
  std::string principal;  // the verified client's SPIFFE id; empty without a client certificate
  bool resumed = false;
};

// Terminates TLS on an accepted `stream` with the chain's settings: the bytes protocol detection
// already read (`initial_bytes`, consumed) go first, the handshake must finish within the
// chain's handshake timeout, and the client's certificate is verified (mesh identity rules).
// On failure the caller closes the connection.
boost::asio::awaitable<AcceptedTls> acceptTls(DeadlineStream& stream,
                                              const DownstreamTlsConfig& tls,
                                              boost::beast::flat_buffer& initial_bytes);

}  // namespace weft::proxy
