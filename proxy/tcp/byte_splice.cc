#include "proxy/tcp/byte_splice.h"

#include "proxy/io/stream_shutdown.h"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace weft::proxy {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr size_t kPumpBufferBytes = 16 * 1024;

// Copies `from` to `to` until EOF or an error, then stops sending on `to` (the
// half-close) and records activity for the idle watchdog.
asio::awaitable<void> pump(DeadlineStream& from, DeadlineStream& to,
                           Clock::time_point& last_activity, uint64_t& moved) {
  std::array<char, kPumpBufferBytes> buffer;
  for (;;) {
    auto [read_error, bytes] = co_await from.async_read_some(asio::buffer(buffer), kUseTuple);
    if (read_error) {
      break;
    }
    last_activity = Clock::now();
    auto [write_error, written] =
        co_await asio::async_write(to, asio::buffer(buffer.data(), bytes), kUseTuple);
    if (write_error) {
      // The receiver is gone: nothing more from this side can be delivered.
      error_code ignored;
      from.socket().shutdown(tcp::socket::shutdown_receive, ignored);
      break;
    }
    last_activity = Clock::now();
    moved += bytes;
  }
  co_await shutdownSending(to);
}

// Completes when nothing has moved for `idle`; never when idle is zero.
asio::awaitable<void> idleWatch(std::chrono::milliseconds idle,
                                const Clock::time_point& last_activity) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  if (idle.count() == 0) {
    timer.expires_at(Clock::time_point::max());
    co_await timer.async_wait(kUseTuple);
    co_return;
  }
  for (;;) {
    const auto due = last_activity + idle;
    if (Clock::now() >= due) {
      co_return;
    }
    timer.expires_at(due);
    auto [error] = co_await timer.async_wait(kUseTuple);
    if (error) {
      co_return;
    }
  }
}

}  // namespace

asio::awaitable<SplicedBytes> spliceBytes(DeadlineStream& a, DeadlineStream& b,
                                          std::chrono::milliseconds idle) {
  using namespace asio::experimental::awaitable_operators;
  Clock::time_point last_activity = Clock::now();
  SplicedBytes moved;
  co_await ((pump(a, b, last_activity, moved.a_to_b) && pump(b, a, last_activity, moved.b_to_a)) ||
            idleWatch(idle, last_activity));
  co_return moved;
}

}  // namespace weft::proxy
