#include "proxy/listener/protocol_sniffer.h"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace weft::proxy {

namespace {

constexpr std::string_view kHttp2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
// Request methods of RFC 9110 and the common WebDAV ones, each with its space.
constexpr std::array<std::string_view, 14> kMethods = {
    "GET ",   "HEAD ",  "POST ",     "PUT ",   "DELETE ", "CONNECT ", "OPTIONS ",
    "TRACE ", "PATCH ", "PROPFIND ", "MKCOL ", "COPY ",   "MOVE ",    "LOCK "};
// Enough bytes to decide any of the above.
constexpr size_t kSniffBytes = 24;

}  // namespace

Classification classifyFirstBytes(std::string_view bytes) {
  if (bytes.empty()) {
    return Classification::kNeedMore;
  }
  // A TLS record: handshake (22), then major version 3.
  if (static_cast<unsigned char>(bytes[0]) == 0x16) {
    if (bytes.size() < 2) {
      return Classification::kNeedMore;
    }
    return bytes[1] == 0x03 ? Classification::kTls : Classification::kOpaque;
  }
  const size_t preface = std::min(bytes.size(), kHttp2Preface.size());
  if (bytes.substr(0, preface) == kHttp2Preface.substr(0, preface)) {
    return preface == kHttp2Preface.size() ? Classification::kHttp2Preface
                                           : Classification::kNeedMore;
  }
  bool could_be_method = false;
  for (std::string_view method : kMethods) {
    const size_t n = std::min(bytes.size(), method.size());
    if (bytes.substr(0, n) == method.substr(0, n)) {
      if (n == method.size()) {
        return Classification::kHttp1;
      }
      could_be_method = true;
    }
  }
  return could_be_method ? Classification::kNeedMore : Classification::kOpaque;
}

boost::asio::awaitable<SniffResult> sniffProtocol(boost::asio::ip::tcp::socket& socket,
                                                  boost::beast::flat_buffer& buffer,
                                                  std::chrono::milliseconds timeout) {
  using namespace boost::asio::experimental::awaitable_operators;
  SniffResult result;
  boost::asio::steady_timer deadline(co_await boost::asio::this_coro::executor, timeout);
  constexpr auto kUseTuple = boost::asio::as_tuple(boost::asio::use_awaitable);
  for (;;) {
    const auto data = buffer.data();
    const std::string_view bytes(static_cast<const char*>(data.data()), data.size());
    switch (classifyFirstBytes(bytes)) {
      case Classification::kTls:
        result.transport = TransportKind::kTls;
        co_return result;
      case Classification::kHttp2Preface:
        result.application_protocol = "h2c";
        co_return result;
      case Classification::kHttp1:
        result.application_protocol = "http/1.1";
        co_return result;
      case Classification::kOpaque:
        co_return result;
      case Classification::kNeedMore:
        break;
    }
    // Whichever comes first: more bytes, or the deadline (the loser is cancelled).
    auto outcome = co_await (socket.async_read_some(buffer.prepare(kSniffBytes), kUseTuple) ||
                             deadline.async_wait(kUseTuple));
    if (outcome.index() == 1) {
      co_return result;  // timed out: server-first or silent client, opaque
    }
    auto [error, bytes_read] = std::get<0>(outcome);
    if (error) {
      result.peer_closed = true;
      co_return result;
    }
    buffer.commit(bytes_read);
  }
}

}  // namespace weft::proxy
