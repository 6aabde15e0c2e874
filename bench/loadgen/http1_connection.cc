#include "bench/loadgen/http1_connection.h"

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

namespace weft::loadgen {

namespace asio = boost::asio;
using asio::ip::tcp;

bool Http1Connection::connect(const tcp::endpoint& endpoint) {
  boost::system::error_code error;
  socket_.connect(endpoint, error);
  if (error) {
    return false;
  }
  socket_.set_option(tcp::no_delay(true), error);
  open_ = true;
  startReading();
  return true;
}

void Http1Connection::send(Clock::time_point intended) {
  intended_ = intended;
  busy_ = true;
  if (!open_) {
    fail();
    return;
  }
  // Requests are small: one non-blocking write normally takes the whole request.
  boost::system::error_code error;
  const std::size_t written =
      asio::write(socket_, asio::buffer(request_.data(), request_.size()), error);
  if (error || written != request_.size()) {
    fail();
  }
}

void Http1Connection::startReading() {
  if (end_ == buffer_.size()) {
    if (begin_ == 0) {
      fail();  // a header block larger than the buffer
      return;
    }
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  socket_.async_read_some(
      asio::buffer(buffer_.data() + end_, buffer_.size() - end_),
      [this](const boost::system::error_code& error, std::size_t bytes) { onRead(error, bytes); });
}

void Http1Connection::onRead(const boost::system::error_code& error, std::size_t bytes) {
  if (error) {
    fail();
    return;
  }
  end_ += bytes;
  while (begin_ < end_) {
    std::size_t consumed = 0;
    const auto result =
        framer_.feed(std::string_view(buffer_.data() + begin_, end_ - begin_), consumed);
    begin_ += consumed;
    if (result == ResponseFramer::Result::kNeedMore) {
      break;
    }
    if (result == ResponseFramer::Result::kError || !busy_) {
      fail();  // garbage, or a response nobody asked for
      return;
    }
    busy_ = false;
    const bool close = framer_.closeAfter();
    run_.onResponse(*this, intended_, framer_.status());
    if (close) {
      fail();
      return;
    }
  }
  if (begin_ == end_) {
    begin_ = end_ = 0;
  }
  startReading();
}

// The connection is unusable: the request on it (if any) fails and the connection stays
// closed; later requests go to the remaining connections (a reconnect would allocate and
// distort the run, and a benchmark target that drops connections has failed anyway).
void Http1Connection::fail() {
  if (open_) {
    boost::system::error_code ignored;
    socket_.close(ignored);
    open_ = false;
    run_.onConnectionLost();
  }
  if (busy_) {
    busy_ = false;
    run_.onResponse(*this, intended_, 0);
  }
}

}  // namespace weft::loadgen
