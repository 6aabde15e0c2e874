#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <string_view>

#include "bench/loadgen/connection.h"
#include "bench/loadgen/response_framer.h"

namespace weft::loadgen {

// HTTP/1.1 keep-alive: one request at a time, responses framed in place in a fixed buffer.
class Http1Connection final : public Connection {
 public:
  Http1Connection(boost::asio::io_context& context, RunCallbacks& run, std::string_view request)
      : socket_(context), run_(run), request_(request) {}

  bool connect(const boost::asio::ip::tcp::endpoint& endpoint);

  unsigned slots() const override { return 1; }
  bool open() const override { return open_; }
  void send(Clock::time_point intended) override;

 private:
  void startReading();
  void onRead(const boost::system::error_code& error, std::size_t bytes);
  void fail();

  boost::asio::ip::tcp::socket socket_;
  RunCallbacks& run_;
  std::string_view request_;
  std::array<char, 64 * 1024> buffer_{};
  std::size_t begin_ = 0;  // unconsumed bytes are buffer_[begin_, end_)
  std::size_t end_ = 0;
  ResponseFramer framer_;
  Clock::time_point intended_{};
  bool busy_ = false;
  bool open_ = false;
};

}  // namespace weft::loadgen
