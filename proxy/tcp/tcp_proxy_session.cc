#include "proxy/tcp/tcp_proxy_session.h"

#include <boost/asio/as_tuple.hpp>
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

asio::awaitable<void> proxyTcpConnection(DeadlineStream downstream, DownstreamPeer peer,
                                         boost::beast::flat_buffer initial_bytes,
                                         const ListenerConfig& listener,
                                         const TcpChainConfig& chain, WorkerContext& worker) {
  const WeightedClusterRef* backend =
      pickBackend(chain.clusters, chain.picker, worker.round_robin_cursor++);
  if (backend == nullptr) {
    co_return;
  }
  const ClusterConfig* cluster = backend->cluster;
  // Attempts go to different hosts while there are others (LbContext::excluded).
  std::array<const lb::Host*, 10> tried{};
  size_t attempts = 0;
  DeadlineStream upstream(co_await asio::this_coro::executor);
  ActiveRequest active;
  for (;;) {
    lb::Host* host = chooseHost(*cluster, worker.worker_index, std::nullopt,
                                std::span<const lb::Host* const>(tried.data(), attempts));
    if (host == nullptr) {
      tcpLog().warn("cluster '{}' has no healthy endpoints; closing the connection", cluster->name);
      co_return;
    }
    tried[attempts++] = host;
    // The connection counts as one request against its host while it lasts.
    active = ActiveRequest(host);
    upstream = DeadlineStream(co_await asio::this_coro::executor);
    upstream.expires_after(cluster->connect_timeout);
    auto [error] = co_await upstream.async_connect(host->address(), kUseTuple);
    std::string failure;
    if (error) {
      failure = error == boost::beast::error::timeout ? std::string("timed out") : error.message();
    } else if (const UpstreamTransport transport = cluster->transportFor(*host); transport.tls) {
      failure = co_await startUpstreamTls(upstream, transport, alpnOffer(transport, kMeshAlpnTcp),
                                          host->address(), worker.tls_sessions);
    }
    if (failure.empty()) {
      break;
    }
    const bool last = attempts >= std::min<size_t>(chain.max_connect_attempts, tried.size());
    tcpLog().warn("cluster '{}': connecting to {}:{} failed: {}; {}", cluster->name,
                  host->address().address().to_string(), host->address().port(), failure,
                  last ? "closing the connection" : "trying another endpoint");
    if (last) {
      co_return;
    }
  }
  upstream.expires_never();
  error_code ignored;
  upstream.socket().set_option(tcp::no_delay(true), ignored);
  const uint64_t series =
      TcpSeries{listener.direction, worker.metricSource(listener, peer.principal),
                cluster->metricDestination(listener.direction, active.host())}
          .key();
  worker.request_metrics.recordTcpOpened(series);
  SplicedBytes moved;
  const uint64_t first_bytes = initial_bytes.size();
  if (first_bytes > 0) {
    auto [error, written] = co_await asio::async_write(upstream, initial_bytes.data(), kUseTuple);
    if (error) {
      worker.request_metrics.recordTcpClosed(series, 0, 0);
      co_return;
    }
  }
  moved = co_await spliceBytes(downstream, upstream, chain.idle_timeout);
  worker.request_metrics.recordTcpClosed(series, first_bytes + moved.a_to_b, moved.b_to_a);
  downstream.close();
  upstream.close();
}

}  // namespace weft::proxy
