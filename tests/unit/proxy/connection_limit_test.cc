#include "proxy/upstream/connection_limit.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>
#include <vector>

#include "proxy/upstream/http1_connection_pool.h"

namespace weft::proxy {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class ConnectionLimitTest : public ::testing::Test {
 protected:
  // Starts a request that needs a connection within `limit_`; its outcome lands
  // in the returned slot once the loop has run.
  std::shared_ptr<std::optional<LimitedConnection>> request(Clock::duration patience = 10s) {
    auto outcome = std::make_shared<std::optional<LimitedConnection>>();
    asio::co_spawn(
        io_,
        [limit = limit_, outcome, deadline = Clock::now() + patience]() -> asio::awaitable<void> {
          *outcome = co_await connectionWithinLimit(limit, deadline);
        },
        asio::detached);
    return outcome;
  }

  void runReady() {
    io_.restart();
    io_.poll();
  }

  asio::io_context io_;
  std::shared_ptr<HostConnectionLimit> limit_ = std::make_shared<HostConnectionLimit>(2);
};

TEST_F(ConnectionLimitTest, NewConnectionsUpToTheLimitThenRequestsWait) {
  auto first = request();
  auto second = request();
  auto third = request();
  runReady();
  ASSERT_TRUE(first->has_value() && second->has_value());
  EXPECT_FALSE((*first)->reused);
  EXPECT_EQ((*first)->connection->limit, limit_);
  EXPECT_EQ(limit_->open(), 2u);
  EXPECT_FALSE(third->has_value());  // waiting
  EXPECT_EQ(limit_->waiting(), 1u);
}

TEST_F(ConnectionLimitTest, AClosedConnectionGivesItsSlotToTheFirstWaiter) {
  auto first = request();
  auto second = request();
  auto third = request();
  auto fourth = request();
  runReady();
  (*first)->connection.reset();  // closes: one slot free
  runReady();
  ASSERT_TRUE(third->has_value());
  EXPECT_FALSE((*third)->reused);  // a new connection, counted already
  EXPECT_NE((*third)->connection, nullptr);
  EXPECT_FALSE(fourth->has_value());  // still in line: arrival order
  EXPECT_EQ(limit_->open(), 2u);
}

TEST_F(ConnectionLimitTest, AFinishedConnectionIsHandedToTheFirstWaiter) {
  auto first = request();
  auto second = request();
  auto third = request();
  runReady();
  UpstreamConnection* raw = (*first)->connection.get();
  Http1ConnectionPool pool;
  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 1);
  pool.release(endpoint, std::move((*first)->connection));
  EXPECT_EQ(pool.idleCount(endpoint), 0u);  // went to the waiter, not to the pool
  runReady();
  ASSERT_TRUE(third->has_value());
  EXPECT_TRUE((*third)->reused);
  EXPECT_EQ((*third)->connection.get(), raw);
  EXPECT_EQ(limit_->open(), 2u);
  // Nobody waits now: the next finished connection goes to the idle pool.
  pool.release(endpoint, std::move((*third)->connection));
  EXPECT_EQ(pool.idleCount(endpoint), 1u);
}

TEST_F(ConnectionLimitTest, AWaiterGivesUpAtItsDeadline) {
  auto first = request();
  auto second = request();
  auto late = request(20ms);
  runReady();
  io_.restart();
  io_.run_for(500ms);
  ASSERT_TRUE(late->has_value());
  EXPECT_EQ((*late)->connection, nullptr);
  EXPECT_FALSE((*late)->overflow);
  EXPECT_EQ(limit_->waiting(), 0u);
  // Its place in line is gone: a slot freed now is not lost to it.
  (*first)->connection.reset();
  EXPECT_EQ(limit_->open(), 1u);
}

TEST_F(ConnectionLimitTest, ACancelledWaiterLeavesTheLine) {
  auto first = request();
  auto second = request();
  asio::cancellation_signal gone;
  std::optional<LimitedConnection> outcome;
  asio::co_spawn(
      io_,
      [&]() -> asio::awaitable<void> {
        outcome = co_await connectionWithinLimit(limit_, Clock::now() + 10s, gone.slot());
      },
      asio::detached);
  runReady();
  EXPECT_EQ(limit_->waiting(), 1u);
  gone.emit(asio::cancellation_type::all);  // the request went away
  runReady();
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->connection, nullptr);
  EXPECT_FALSE(outcome->overflow);
  EXPECT_EQ(limit_->waiting(), 0u);
}

TEST_F(ConnectionLimitTest, ASlotGivenToAWaiterThatNeverResumesIsPassedOn) {
  auto first = request();
  auto second = request();
  runReady();
  {
    asio::io_context other;  // its coroutine is destroyed with it, unresumed
    auto limit = limit_;
    asio::co_spawn(
        other,
        [limit]() -> asio::awaitable<void> {
          co_await connectionWithinLimit(limit, Clock::now() + 10s);
        },
        asio::detached);
    other.poll();
    (*first)->connection.reset();  // the slot goes to that waiter...
    EXPECT_EQ(limit_->open(), 2u);
  }
  EXPECT_EQ(limit_->open(), 1u);  // ...and comes back when it is destroyed
}

TEST_F(ConnectionLimitTest, TheLineIsBounded) {
  auto first = request();
  auto second = request();
  std::vector<std::shared_ptr<std::optional<LimitedConnection>>> waiting;
  for (size_t i = 0; i < HostConnectionLimit::kMaxWaiting; ++i) {
    waiting.push_back(request());
  }
  auto overflow = request();
  runReady();
  EXPECT_EQ(limit_->waiting(), HostConnectionLimit::kMaxWaiting);
  ASSERT_TRUE(overflow->has_value());
  EXPECT_TRUE((*overflow)->overflow);
  EXPECT_EQ((*overflow)->connection, nullptr);
  EXPECT_NE(connectionLimitDetail(*limit_, true).find("max_connections_per_host"),
            std::string::npos);
}

TEST_F(ConnectionLimitTest, ANewcomerDoesNotJumpTheLine) {
  auto first = request();
  auto second = request();
  auto waiter = request();
  runReady();
  // A slot frees while someone waits: it is the waiter's, not the next caller's.
  (*first)->connection.reset();
  EXPECT_FALSE(limit_->tryOpen());
  runReady();
  EXPECT_TRUE(waiter->has_value());
}

TEST_F(ConnectionLimitTest, AWaiterDestroyedUnresumedLeavesTheLine) {
  auto first = request();
  auto second = request();
  auto third = request();
  runReady();
  EXPECT_EQ(limit_->waiting(), 1u);
  // Destroying the loop destroys the suspended coroutine, as a worker stopped
  // at its drain deadline does.
  {
    asio::io_context other;
    auto limit = limit_;
    asio::co_spawn(
        other,
        [limit]() -> asio::awaitable<void> {
          co_await connectionWithinLimit(limit, Clock::now() + 10s);
        },
        asio::detached);
    other.poll();
    EXPECT_EQ(limit_->waiting(), 2u);
  }
  EXPECT_EQ(limit_->waiting(), 1u);
  (*first)->connection.reset();  // wakes the remaining waiter, not a dangling one
  runReady();
  EXPECT_TRUE(third->has_value());
}

}  // namespace
}  // namespace weft::proxy
