#include "proxy/tcp/tcp_proxy_session.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "common/log/logger.h"
#include "proxy/http1/local_reply.h"
#include "proxy/stats/traffic_counters.h"
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
  const auto started = std::chrono::steady_clock::now();
  // ORIGINAL_DST: where the connection goes (there is no host).
  tcp::endpoint passthrough_target;
  // The connection's access log line: `flag` says how it failed (kNoResponseFlag: it did not).
  auto logConnection = [&](uint8_t flag, const lb::Host* host, uint64_t received, uint64_t sent) {
    if (!worker.access_log.wants(chain.access_log.get(), flag != kNoResponseFlag)) {
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    AccessLogRecord record;
    record.start_time = systemTimeOf(started, now);
    record.duration = now - started;
    record.protocol = "TCP";
    record.response_flags = responseFlagName(flag);
    record.bytes_received = received;
    record.bytes_sent = sent;
    record.upstream_cluster = cluster->name;
    if (host != nullptr) {
      record.upstream_host = host->address();
      record.upstream_principal = cluster->transportFor(*host).expected_identity;
    } else if (cluster->original_destination) {
      record.upstream_host = passthrough_target;
    }
    record.downstream_peer = peer.source;
    record.downstream_principal = peer.principal;
    worker.access_log.write(*chain.access_log, record, worker.worker_index);
  };
  // Attempts go to different hosts while there are others (LbContext::excluded).
  std::array<const lb::Host*, 10> tried{};
  size_t attempts = 0;
  DeadlineStream upstream(co_await asio::this_coro::executor);
  ActiveRequest active;
  if (cluster->original_destination) {
    // Passthrough: where the connection was going before it was redirected. Only a
    // transparent listener knows that; anywhere else the "original destination" is the
    // proxy's own listener, and connecting there would loop.
    if (!listener.transparent) {
      tcpLog().warn(
          "cluster '{}' is ORIGINAL_DST but listener '{}' is not transparent; closing "
          "the connection",
          cluster->name, listener.name);
      trafficCounters().tcp_upstream_failures.fetch_add(1, std::memory_order_relaxed);
      logConnection(responseFlag(LocalReplyReason::kNoHealthyUpstream), nullptr, 0, 0);
      co_return;
    }
    tcp::endpoint& target = passthrough_target;
    target = peer.destination;
    if (cluster->original_destination_loopback) {
      target.address(target.address().is_v6()
                         ? asio::ip::address(asio::ip::address_v6::loopback())
                         : asio::ip::address(asio::ip::address_v4::loopback()));
    }
    upstream.expires_after(cluster->connect_timeout);
    auto [error] = co_await upstream.async_connect(target, kUseTuple);
    if (error) {
      tcpLog().warn(
          "cluster '{}': connecting to the original destination {}:{} failed: {}; "
          "closing the connection",
          cluster->name, target.address().to_string(), target.port(),
          error == boost::beast::error::timeout ? std::string("timed out") : error.message());
      trafficCounters().tcp_upstream_failures.fetch_add(1, std::memory_order_relaxed);
      logConnection(responseFlag(LocalReplyReason::kUpstreamConnectFail), nullptr, 0, 0);
      co_return;
    }
  }
  while (!cluster->original_destination) {
    lb::Host* host = chooseHost(*cluster, worker.worker_index, std::nullopt,
                                std::span<const lb::Host* const>(tried.data(), attempts));
    if (host == nullptr) {
      tcpLog().warn("cluster '{}' has no healthy endpoints; closing the connection", cluster->name);
      trafficCounters().tcp_upstream_failures.fetch_add(1, std::memory_order_relaxed);
      logConnection(responseFlag(LocalReplyReason::kNoHealthyUpstream), nullptr, 0, 0);
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
      trafficCounters().tcp_upstream_failures.fetch_add(1, std::memory_order_relaxed);
      logConnection(responseFlag(LocalReplyReason::kUpstreamConnectFail), host, 0, 0);
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
      logConnection(responseFlag(LocalReplyReason::kUpstreamReset), active.host(), 0, 0);
      co_return;
    }
  }
  moved = co_await spliceBytes(downstream, upstream, chain.idle_timeout);
  worker.request_metrics.recordTcpClosed(series, first_bytes + moved.a_to_b, moved.b_to_a);
  logConnection(kNoResponseFlag, active.host(), first_bytes + moved.a_to_b, moved.b_to_a);
  downstream.close();
  upstream.close();
}

}  // namespace weft::proxy
