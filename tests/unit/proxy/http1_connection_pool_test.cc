#include "proxy/upstream/http1_connection_pool.h"

#include <gtest/gtest.h>

#include <thread>

#include <poll.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>

namespace weft::proxy {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// A loopback listener and connected client/server socket pairs.
class PoolTest : public ::testing::Test {
 protected:
  PoolTest() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {}

  // Returns the client side; keeps the server side so the test can close it.
  UpstreamConnectionPtr connect() {
    auto client = std::make_unique<UpstreamConnection>(DeadlineStream(io_));
    client->stream.socket().connect(acceptor_.local_endpoint());
    servers_.push_back(acceptor_.accept());
    return client;
  }

  tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }

  // Waits (bounded) until the client side of `stream` has something to read: the
  // FIN or bytes the server sent, so the test does not race loopback delivery.
  static void awaitReadable(UpstreamConnection& connection) {
    pollfd descriptor{connection.stream.socket().native_handle(), POLLIN, 0};
    ASSERT_EQ(::poll(&descriptor, 1, 5000), 1);
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::vector<tcp::socket> servers_;
};

TEST_F(PoolTest, EmptyPoolHasNothing) {
  Http1ConnectionPool pool;
  EXPECT_EQ(pool.take(endpoint()), nullptr);
}

TEST_F(PoolTest, OnlyAConnectionCountedByTheCallersLimitIsTaken) {
  Http1ConnectionPool pool;
  auto limit = std::make_shared<HostConnectionLimit>(4);
  auto other = std::make_shared<HostConnectionLimit>(4);
  auto counted = connect();
  counted->limit = limit;
  auto* counted_raw = counted.get();
  auto uncounted = connect();
  auto* uncounted_raw = uncounted.get();
  pool.release(endpoint(), std::move(uncounted));
  pool.release(endpoint(), std::move(counted));
  EXPECT_EQ(pool.take(endpoint(), std::nullopt, other.get()), nullptr);
  EXPECT_EQ(pool.take(endpoint(), std::nullopt, limit.get()).get(), counted_raw);
  EXPECT_EQ(pool.take(endpoint()).get(), uncounted_raw);
}

TEST_F(PoolTest, OnlyAConnectionOfTheCallersClusterIsTaken) {
  // Two clusters with one endpoint: a connection stays counted in the circuit breaker of the
  // cluster that opened it, so only that cluster may reuse it.
  Http1ConnectionPool pool;
  auto shop = std::make_shared<ClusterCircuitCounts>();
  auto cart = std::make_shared<ClusterCircuitCounts>();
  auto connection = connect();
  ASSERT_TRUE(connection->circuit_slot.tryTake(shop, &ClusterCircuitCounts::open_connections, 10));
  auto* raw = connection.get();
  pool.release(endpoint(), std::move(connection));
  EXPECT_EQ(pool.take(endpoint(), std::nullopt, nullptr, 0, cart.get()), nullptr);
  EXPECT_EQ(pool.take(endpoint()), nullptr);  // nor a caller without a cluster
  const UpstreamConnectionPtr taken = pool.take(endpoint(), std::nullopt, nullptr, 0, shop.get());
  EXPECT_EQ(taken.get(), raw);
  EXPECT_EQ(shop->open_connections.load(), 1u);
  EXPECT_EQ(cart->open_connections.load(), 0u);
}

TEST_F(PoolTest, ReleasedConnectionComesBackMostRecentFirst) {
  Http1ConnectionPool pool;
  auto first = connect();
  auto second = connect();
  auto* second_raw = second.get();
  pool.release(endpoint(), std::move(first));
  pool.release(endpoint(), std::move(second));
  EXPECT_EQ(pool.idleCount(endpoint()), 2u);
  EXPECT_EQ(pool.take(endpoint()).get(), second_raw);
  EXPECT_EQ(pool.idleCount(endpoint()), 1u);
}

// Pools that check every connection they hand out, however briefly it was idle.
Http1ConnectionPool::Limits alwaysChecked() {
  return {.max_idle_per_endpoint = 64,
          .idle_timeout = std::chrono::seconds(60),
          .check_after = std::chrono::milliseconds(0)};
}

TEST_F(PoolTest, ConnectionClosedByPeerIsDropped) {
  Http1ConnectionPool pool(alwaysChecked());
  auto client = connect();
  auto* raw = client.get();
  pool.release(endpoint(), std::move(client));
  servers_.back().close();
  awaitReadable(*raw);
  EXPECT_EQ(pool.take(endpoint()), nullptr);
  EXPECT_EQ(pool.idleCount(endpoint()), 0u);
}

TEST_F(PoolTest, UnsolicitedBytesMakeAConnectionUnusable) {
  Http1ConnectionPool pool(alwaysChecked());
  auto client = connect();
  auto* raw = client.get();
  pool.release(endpoint(), std::move(client));
  asio::write(servers_.back(), asio::buffer(std::string_view("HTTP/1.1 200 OK\r\n")));
  awaitReadable(*raw);
  EXPECT_EQ(pool.take(endpoint()), nullptr);
}

TEST_F(PoolTest, IdleConnectionsPerEndpointAreBounded) {
  Http1ConnectionPool pool({.max_idle_per_endpoint = 2,
                            .idle_timeout = std::chrono::seconds(60),
                            .check_after = std::chrono::milliseconds(250)});
  for (int i = 0; i < 5; ++i) {
    pool.release(endpoint(), connect());
  }
  EXPECT_EQ(pool.idleCount(endpoint()), 2u);
}

TEST_F(PoolTest, ExpiredConnectionsAreNotReused) {
  Http1ConnectionPool pool(
      {.max_idle_per_endpoint = 4, .idle_timeout = std::chrono::milliseconds(1)});
  pool.release(endpoint(), connect());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(pool.take(endpoint()), nullptr);
}

TEST_F(PoolTest, TheClusterIdleTimeoutOverridesThePoolsAndZeroMeansNone) {
  Http1ConnectionPool pool(
      {.max_idle_per_endpoint = 4, .idle_timeout = std::chrono::milliseconds(1)});
  pool.release(endpoint(), connect());
  pool.release(endpoint(), connect());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_NE(pool.take(endpoint(), std::chrono::milliseconds(0)), nullptr);
  EXPECT_NE(pool.take(endpoint(), std::chrono::hours(1)), nullptr);
}

TEST_F(PoolTest, RecentlyReleasedConnectionIsTrustedWithoutAPeek) {
  Http1ConnectionPool pool;  // default: peek only after 250 ms idle
  auto client = connect();
  auto* raw = client.get();
  pool.release(endpoint(), std::move(client));
  servers_.back().close();
  awaitReadable(*raw);
  // Handed out unchecked; the caller's retry on a reused connection covers this.
  EXPECT_EQ(pool.take(endpoint()).get(), raw);
}

TEST_F(PoolTest, EndpointsAreKeptApart) {
  Http1ConnectionPool pool;
  pool.release(endpoint(), connect());
  tcp::endpoint other(asio::ip::make_address("::1"), endpoint().port());
  EXPECT_EQ(pool.take(other), nullptr);
  EXPECT_NE(pool.take(endpoint()), nullptr);
}

}  // namespace
}  // namespace weft::proxy
