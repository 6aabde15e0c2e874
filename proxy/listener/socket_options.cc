#include "proxy/listener/socket_options.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace weft::proxy {

void applyKeepalive(boost::asio::ip::tcp::socket& socket, const TcpKeepaliveConfig& keepalive) {
  const int fd = socket.native_handle();
  const int enable = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &enable, sizeof(enable));
  auto set = [fd](int option, uint32_t value) {
    if (value != 0) {
      const int number = static_cast<int>(value);
      ::setsockopt(fd, IPPROTO_TCP, option, &number, sizeof(number));
    }
  };
  set(TCP_KEEPCNT, keepalive.probes);
  set(TCP_KEEPIDLE, keepalive.idle_seconds);
  set(TCP_KEEPINTVL, keepalive.interval_seconds);
}

}  // namespace weft::proxy
