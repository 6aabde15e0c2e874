#include "proxy/tcp/tcp_proxy_session.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "common/log/logger.h"
#include "proxy/tcp/byte_splice.h"
#include "proxy/upstream/upstream_pick.h"

namespace weft::proxy {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

spdlog::logger& tcpLog() {
  static spdlog::logger& logger = weft::log::logger("tcp");
  return logger;
}

}  // namespace

asio::awaitable<void> proxyTcpConnection(tcp::socket downstream,
                                         boost::beast::flat_buffer initial_bytes,
                                         const TcpChainConfig& chain, WorkerContext& worker) {
  using namespace asio::experimental::awaitable_operators;
  const UpstreamPick pick = pickUpstream(chain.clusters, chain.picker, worker.round_robin_cursor++);
  if (pick.endpoint == nullptr) {
    tcpLog().warn("cluster '{}' has no endpoints; closing the connection",
                  pick.cluster ? pick.cluster->name : "");
    co_return;
  }
  const ClusterConfig* cluster = pick.cluster;
  const UpstreamEndpoint* endpoint = pick.endpoint;

  tcp::socket upstream(co_await asio::this_coro::executor);
  asio::steady_timer connect_deadline(co_await asio::this_coro::executor, cluster->connect_timeout);
  auto connected = co_await (upstream.async_connect(endpoint->address, kUseTuple) ||
                             connect_deadline.async_wait(kUseTuple));
  if (connected.index() == 1 || std::get<0>(std::get<0>(connected))) {
    const std::string reason = connected.index() == 1
                                   ? std::string("timed out")
                                   : std::get<0>(std::get<0>(connected)).message();
    tcpLog().warn("cluster '{}': connecting to {}:{} failed: {}; closing the connection",
                  cluster->name, endpoint->address.address().to_string(), endpoint->address.port(),
                  reason);
    co_return;
  }
  error_code ignored;
  upstream.set_option(tcp::no_delay(true), ignored);
  if (initial_bytes.size() > 0) {
    auto [error, written] = co_await asio::async_write(upstream, initial_bytes.data(), kUseTuple);
    if (error) {
      co_return;
    }
  }
  co_await spliceBytes(downstream, upstream, chain.idle_timeout);
  downstream.close(ignored);
  upstream.close(ignored);
}

}  // namespace weft::proxy
