#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <string>

namespace weft::proxy {

// Who is at the other end of an accepted connection once its TLS, if any, is done: what
// authorization decides on and logs name. Fixed for the connection's life.
struct DownstreamPeer {
  boost::asio::ip::tcp::endpoint source;
  boost::asio::ip::tcp::endpoint destination;  // the original destination when transparent
  std::string principal;    // the verified SPIFFE id; empty for plaintext or no client certificate
  std::string server_name;  // SNI of a TLS connection
  bool tls = false;
};

}  // namespace weft::proxy
