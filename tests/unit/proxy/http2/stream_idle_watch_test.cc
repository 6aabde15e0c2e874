#include "proxy/http2/stream_idle_watch.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace weft::proxy {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

std::string statusOf(const StreamExchange& exchange) {
  for (const HeaderField& field : exchange.response_fields) {
    if (field.name == ":status") {
      return field.value;
    }
  }
  return "";
}

std::string reasonOf(const StreamExchange& exchange) {
  for (const HeaderField& field : exchange.response_fields) {
    if (field.name == "x-weft-reason") {
      return field.value;
    }
  }
  return "";
}

class StreamIdleWatcherTest : public ::testing::Test {
 protected:
  StreamExchangePtr newExchange() {
    auto exchange = std::make_shared<StreamExchange>(io_.get_executor());
    exchange->request.method = "GET";
    exchange->request.path = "/slow";
    return exchange;
  }

  asio::io_context io_;
  StreamIdleWatcher watcher_{io_.get_executor()};
};

TEST_F(StreamIdleWatcherTest, AnExchangeWithNoBytesMovingGetsA504) {
  auto exchange = newExchange();
  exchange->request_body.ended = true;  // the request is complete: the upstream is silent
  watcher_.watch(*exchange, 40ms, "backend");
  io_.run_for(300ms);
  EXPECT_TRUE(exchange->response_started);
  EXPECT_EQ(statusOf(*exchange), "504");
  EXPECT_EQ(reasonOf(*exchange), "stream_idle_timeout");
  EXPECT_TRUE(exchange->upstream_cancelled);
  EXPECT_EQ(watcher_.watchedCount(), 0u);
}

TEST_F(StreamIdleWatcherTest, StopLetsTheEventLoopEndAndIgnoresLaterWatches) {
  {
    auto exchange = newExchange();
    watcher_.watch(*exchange, std::chrono::hours(1), "backend");
  }  // gone, but its sweep is still scheduled (a quarter of an hour ahead)
  watcher_.stop();
  auto later = newExchange();
  watcher_.watch(*later, 40ms, "backend");
  EXPECT_EQ(watcher_.watchedCount(), 0u);
  // Nothing is left to run: run() returns instead of waiting for the sweep.
  io_.run();
  EXPECT_FALSE(later->response_started);
}

TEST_F(StreamIdleWatcherTest, AnIncompleteRequestBodyGetsA408) {
  auto exchange = newExchange();
  watcher_.watch(*exchange, 40ms, "backend");
  io_.run_for(300ms);
  EXPECT_EQ(statusOf(*exchange), "408");
}

TEST_F(StreamIdleWatcherTest, BytesMovingKeepTheExchangeAlive) {
  auto exchange = newExchange();
  watcher_.watch(*exchange, 300ms, "backend");
  // Response bytes arrive every 20 ms for 800 ms: never idle for 300 ms.
  asio::steady_timer trickle(io_);
  int pieces = 0;
  std::function<void()> next = [&] {
    trickle.expires_after(20ms);
    trickle.async_wait([&](const boost::system::error_code& error) {
      if (error || ++pieces > 40) {
        return;
      }
      exchange->response_body.append(std::string_view("x"));
      next();
    });
  };
  next();
  io_.run_for(700ms);
  EXPECT_FALSE(exchange->response_started) << statusOf(*exchange);
  EXPECT_EQ(watcher_.watchedCount(), 1u);
}

TEST_F(StreamIdleWatcherTest, FinishedAndDestroyedExchangesAreDroppedWithoutAReply) {
  auto finished = newExchange();
  auto gone = newExchange();
  watcher_.watch(*finished, 40ms, "backend");
  watcher_.watch(*gone, 40ms, "backend");
  finished->downstream_closed = true;
  gone.reset();
  // A destroyed exchange leaves the list at once: nothing of it is kept until a sweep.
  EXPECT_EQ(watcher_.watchedCount(), 1u);
  io_.run_for(300ms);
  EXPECT_FALSE(finished->response_started);
  EXPECT_EQ(watcher_.watchedCount(), 0u);
}

TEST_F(StreamIdleWatcherTest, AShorterTimeoutWatchedLaterIsNotHeldBackByALongerOne) {
  auto slow = newExchange();
  auto fast = newExchange();
  fast->request_body.ended = true;
  watcher_.watch(*slow, 1h, "backend");
  watcher_.watch(*fast, 40ms, "backend");
  io_.run_for(300ms);
  EXPECT_EQ(statusOf(*fast), "504");
  EXPECT_FALSE(slow->response_started);
}

}  // namespace
}  // namespace weft::proxy

namespace weft::proxy {
namespace {

TEST(StreamIdleWatcherLifetimeTest, ExchangesOutlivingTheWatcherAreUnlinked) {
  boost::asio::io_context io;
  auto exchange = std::make_shared<StreamExchange>(io.get_executor());
  {
    StreamIdleWatcher watcher(io.get_executor());
    watcher.watch(*exchange, std::chrono::milliseconds(40), "backend");
  }
  EXPECT_EQ(exchange->idle_watch.watcher, nullptr);
  exchange.reset();  // must not reach the destroyed watcher
}

}  // namespace
}  // namespace weft::proxy
