#include "proxy/io/deadline_stream.h"
#include "proxy/io/idle_registry.h"

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <optional>

namespace weft::proxy {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using namespace std::chrono_literals;

// A connected pair on loopback: `stream` under test, `peer` the other end.
class DeadlineStreamTest : public ::testing::Test {
 protected:
  DeadlineStreamTest() : acceptor_(io_, {asio::ip::address_v4::loopback(), 0}), peer_(io_) {
    stream_.socket().connect(acceptor_.local_endpoint());
    acceptor_.accept(peer_);
  }

  // Starts a read on the stream; its outcome lands in read_error_ / read_bytes_.
  void startRead() {
    stream_.async_read_some(asio::buffer(read_buffer_), [this](error_code error, size_t bytes) {
      read_error_ = error;
      read_bytes_ = bytes;
    });
  }

  // Runs the loop until the read completed (or `limit` passed, which fails the test).
  void runUntilRead(std::chrono::milliseconds limit = 5s) {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    while (!read_error_ && std::chrono::steady_clock::now() < give_up) {
      io_.run_for(10ms);
      io_.restart();
    }
    ASSERT_TRUE(read_error_.has_value()) << "the read never completed";
  }

  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  DeadlineStream stream_{io_};
  asio::ip::tcp::socket peer_;
  std::array<char, 64> read_buffer_{};
  std::optional<error_code> read_error_;
  size_t read_bytes_ = 0;
};

TEST_F(DeadlineStreamTest, ReadCompletesBeforeTheDeadline) {
  stream_.expires_after(5s);
  startRead();
  asio::write(peer_, asio::buffer("hello", 5));
  runUntilRead();
  EXPECT_FALSE(*read_error_);
  EXPECT_EQ(read_bytes_, 5u);
  EXPECT_TRUE(stream_.socket().is_open());
}

TEST_F(DeadlineStreamTest, PendingReadFailsWithTimeoutAndTheSocketCloses) {
  stream_.expires_after(30ms);
  startRead();
  runUntilRead();
  EXPECT_EQ(*read_error_, boost::beast::error::timeout);
  EXPECT_FALSE(stream_.socket().is_open());
}

TEST_F(DeadlineStreamTest, AnEarlierDeadlineMovesTheTimer) {
  stream_.expires_after(1h);
  stream_.expires_after(30ms);  // must not wait for the hour
  startRead();
  runUntilRead();
  EXPECT_EQ(*read_error_, boost::beast::error::timeout);
}

TEST_F(DeadlineStreamTest, ALaterDeadlineIsHonouredWhenTheFirstOnePasses) {
  stream_.expires_after(20ms);
  stream_.expires_after(1h);  // the 20 ms wait fires, finds the hour, and waits again
  startRead();
  io_.run_for(100ms);
  io_.restart();
  EXPECT_FALSE(read_error_.has_value()) << "timed out at a deadline that was replaced";
  asio::write(peer_, asio::buffer("x", 1));
  runUntilRead();
  EXPECT_FALSE(*read_error_);
}

TEST_F(DeadlineStreamTest, ExpiresNeverLiftsTheDeadline) {
  stream_.expires_after(20ms);
  stream_.expires_never();
  startRead();
  io_.run_for(100ms);
  io_.restart();
  EXPECT_FALSE(read_error_.has_value());
  asio::write(peer_, asio::buffer("x", 1));
  runUntilRead();
  EXPECT_FALSE(*read_error_);
}

TEST_F(DeadlineStreamTest, AnOperationStartedAfterItsDeadlinePassedFailsAtOnce) {
  stream_.expires_after(10ms);
  io_.run_for(60ms);  // the deadline passes with nothing pending
  io_.restart();
  asio::write(peer_, asio::buffer("x", 1));  // even with bytes ready, it is too late
  startRead();
  runUntilRead();
  EXPECT_EQ(*read_error_, boost::beast::error::timeout);
}

TEST_F(DeadlineStreamTest, ANewDeadlineAfterExpiryAllowsOperationsAgain) {
  stream_.expires_after(10ms);
  io_.run_for(60ms);
  io_.restart();
  stream_.expires_after(5s);
  asio::write(peer_, asio::buffer("x", 1));
  startRead();
  runUntilRead();
  EXPECT_FALSE(*read_error_);
}

TEST_F(DeadlineStreamTest, ConnectTimesOutAgainstAPeerThatNeverAnswers) {
  // A listener with a full backlog leaves the next connect hanging in SYN_SENT.
  asio::ip::tcp::acceptor full(io_, {asio::ip::address_v4::loopback(), 0});
  full.listen(0);
  std::vector<asio::ip::tcp::socket> fillers;
  for (int i = 0; i < 8; ++i) {
    fillers.emplace_back(io_);
    fillers.back().async_connect(full.local_endpoint(), [](error_code) {});
  }
  DeadlineStream connecting(io_);
  std::optional<error_code> outcome;
  connecting.expires_after(100ms);
  connecting.async_connect(full.local_endpoint(), [&](error_code error) { outcome = error; });
  const auto give_up = std::chrono::steady_clock::now() + 5s;
  while (!outcome && std::chrono::steady_clock::now() < give_up) {
    io_.run_for(10ms);
    io_.restart();
  }
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(*outcome, boost::beast::error::timeout);
}

TEST_F(DeadlineStreamTest, DestroyingTheStreamWithAWaitOutstandingIsSafe) {
  {
    DeadlineStream short_lived(io_);
    short_lived.expires_after(20ms);
  }
  io_.run_for(60ms);  // the cancelled wait completes after the stream is gone
  SUCCEED();
}

}  // namespace
}  // namespace weft::proxy

namespace weft::proxy {
namespace {

// The drain path: every connection registered as idle has its wait ended, and
// entries leave the registry in any order as their scopes end.
TEST_F(DeadlineStreamTest, IdleRegistryCancelsTheWaitsOfRegisteredConnections) {
  IdleRegistry registry;
  EXPECT_TRUE(registry.empty());
  {
    DeadlineStream other(io_);
    auto first = std::make_unique<IdleRegistry::Entry>(registry, stream_);
    auto second = std::make_unique<IdleRegistry::Entry>(registry, other);
    first.reset();  // unlinking one entry leaves the other linked
    EXPECT_FALSE(registry.empty());
    second.reset();
    EXPECT_TRUE(registry.empty());
  }
  const IdleRegistry::Entry idle(registry, stream_);
  startRead();
  registry.cancelAll();
  runUntilRead();
  EXPECT_EQ(*read_error_, boost::asio::error::operation_aborted);
  EXPECT_TRUE(stream_.socket().is_open());  // cancelled, not closed: the drain decides
}

}  // namespace
}  // namespace weft::proxy
