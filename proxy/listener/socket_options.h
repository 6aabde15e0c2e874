#pragma once

#include <boost/asio/ip/tcp.hpp>

#include "proxy/snapshot/snapshot.h"

namespace weft::proxy {

// Turns on TCP keepalive probing for an accepted connection, with the given
// probe count, idle time and interval where set. Failures are ignored: the
// connection works without probes, and a socket that cannot take the option
// is already on its way out.
void applyKeepalive(boost::asio::ip::tcp::socket& socket, const TcpKeepaliveConfig& keepalive);

}  // namespace weft::proxy
