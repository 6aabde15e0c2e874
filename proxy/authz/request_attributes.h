#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <string_view>

#include "proxy/router/request_view.h"

namespace weft::proxy::authz {

// What authorization knows about a connection. Views only: the session owns the data and
// keeps it alive for the decision; one value can serve every request of the connection.
struct ConnectionAttributes {
  // SPIFFE id of the peer's verified certificate; empty for plaintext.
  std::string_view principal;
  // The downstream peer (the address that connected, not x-forwarded-for).
  boost::asio::ip::address source_ip;
  // The original destination (the application's address and port on inbound).
  boost::asio::ip::address destination_ip;
  uint16_t destination_port = 0;
  // TLS server name the peer requested; empty when none.
  std::string_view sni;
};

// What authorization knows about one HTTP request, after path normalization.
struct HttpRequestAttributes {
  std::string_view method;     // "GET", ...
  std::string_view authority;  // Host / :authority, as received
  std::string_view path;       // normalized, without the query
  // The request's header fields (HTTP/1.1: BeastHeaderLookup; HTTP/2: HeaderListLookup).
  const HeaderLookup* headers = nullptr;
};

}  // namespace weft::proxy::authz
