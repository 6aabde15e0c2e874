#include "proxy/io/stream_shutdown.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace weft::proxy {

boost::asio::awaitable<void> shutdownSending(DeadlineStream& stream,
                                             std::chrono::milliseconds timeout) {
  if (stream.hasTls() && stream.socket().is_open()) {
    stream.expires_after(timeout);
    co_await stream.async_tls_shutdown_send(boost::asio::as_tuple(boost::asio::use_awaitable));
    stream.expires_never();
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
}

}  // namespace weft::proxy
