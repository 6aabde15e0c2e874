#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <optional>

namespace weft::proxy {

// The destination a connection had before iptables REDIRECT sent it to this
// proxy (SO_ORIGINAL_DST for IPv4, IP6T_SO_ORIGINAL_DST for IPv6); nullopt when
// the kernel has none (the connection was not redirected).
std::optional<boost::asio::ip::tcp::endpoint> originalDestination(
    boost::asio::ip::tcp::socket& socket);

}  // namespace weft::proxy
