#include "proxy/listener/original_destination.h"

#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace weft::proxy {

std::optional<boost::asio::ip::tcp::endpoint> originalDestination(
    boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code error;
  const auto local = socket.local_endpoint(error);
  if (error) {
    return std::nullopt;
  }
  const int fd = socket.native_handle();
  if (local.address().is_v4()) {
    sockaddr_in address{};
    socklen_t length = sizeof(address);
    if (::getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &address, &length) != 0) {
      return std::nullopt;
    }
    return boost::asio::ip::tcp::endpoint(
        boost::asio::ip::address_v4(ntohl(address.sin_addr.s_addr)), ntohs(address.sin_port));
  }
  sockaddr_in6 address{};
  socklen_t length = sizeof(address);
  if (::getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &address, &length) != 0) {
    return std::nullopt;
  }
  boost::asio::ip::address_v6::bytes_type bytes;
  std::memcpy(bytes.data(), &address.sin6_addr, bytes.size());
  return boost::asio::ip::tcp::endpoint(boost::asio::ip::address_v6(bytes, address.sin6_scope_id),
                                        ntohs(address.sin6_port));
}

}  // namespace weft::proxy
