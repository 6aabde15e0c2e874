#include "proxy/upstream/request_mirror.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "proxy/stats/security_counters.h"
#include "proxy/stats/traffic_counters.h"
#include "proxy/upstream/http1_upstream_io.h"
#include "proxy/upstream/upstream_pick.h"

namespace weft::proxy {
namespace {

namespace asio = boost::asio;

thread_local uint32_t mirrors_in_flight = 0;

// The head ends at the first empty line; the header goes just before it.
std::string withMirrorHeader(std::string_view request) {
  std::string copy;
  const size_t end = request.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return copy;
  }
  copy.reserve(request.size() + 18);
  copy.append(request.substr(0, end + 2))
      .append("x-weft-mirror: 1\r\n")
      .append(request.substr(end + 2));
  return copy;
}

asio::awaitable<void> sendCopy(SnapshotPtr snapshot, const ClusterConfig& cluster,
                               boost::asio::ip::tcp::endpoint endpoint, UpstreamTransport transport,
                               std::string request, TlsSessionCache& tls_sessions) {
  struct InFlight {
    ~InFlight() { --mirrors_in_flight; }
  } in_flight;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  UpstreamConnection connection(DeadlineStream(co_await asio::this_coro::executor));
  const std::string failure = co_await connectUpstream(
      connection, endpoint, transport, tls_sessions, cluster.connect_timeout, deadline);
  if (!failure.empty()) {
    count(trafficCounters().mirror_failures);
    co_return;
  }
  connection.stream.expires_at(deadline);
  auto [error, written] = co_await asio::async_write(connection.stream, asio::buffer(request),
                                                     asio::as_tuple(asio::use_awaitable));
  if (error) {
    count(trafficCounters().mirror_failures);
    co_return;
  }
  // The answer's header is read so the upstream sees a normal exchange; the
  // body and the connection are dropped.
  const ResponseHeadRead head = co_await readFinalResponseHeader(connection, false);
  if (head.error) {
    count(trafficCounters().mirror_failures);
  }
  (void)snapshot;  // held to here: `cluster` lives in it
}

}  // namespace

bool mirrorRequest(const asio::any_io_executor& executor, SnapshotPtr snapshot,
                   const ClusterConfig& cluster, uint32_t worker_index, std::string_view request,
                   TlsSessionCache& tls_sessions) {
  if (mirrors_in_flight >= kMaxMirrorsInFlight) {
    count(trafficCounters().mirror_dropped);
    return false;
  }
  lb::Host* host = chooseHost(cluster, worker_index);
  std::string copy = withMirrorHeader(request);
  if (host == nullptr || copy.empty()) {
    count(trafficCounters().mirror_dropped);
    return false;
  }
  ++mirrors_in_flight;
  count(trafficCounters().mirrored);
  asio::co_spawn(executor,
                 sendCopy(std::move(snapshot), cluster, host->address(),
                          cluster.transportFor(*host), std::move(copy), tls_sessions),
                 asio::detached);
  return true;
}

ChosenMirrors chooseMirrors(const RouteEntry& route) {
  ChosenMirrors chosen;
  for (const RouteEntry::Mirror& mirror : route.mirrors) {
    if (chosen.count < chosen.clusters.size() &&
        UpstreamRetry::random() % 1'000'000 < mirror.share) {
      chosen.clusters[chosen.count++] = mirror.cluster;
    }
  }
  return chosen;
}

void dropMirrors(const ChosenMirrors& mirrors) {
  for (size_t m = 0; m < mirrors.count; ++m) {
    count(trafficCounters().mirror_dropped);
  }
}

void sendMirrors(const ChosenMirrors& mirrors, const RequestReplay& replay,
                 const asio::any_io_executor& executor, const SnapshotPtr& snapshot,
                 uint32_t worker_index, TlsSessionCache& tls_sessions) {
  for (size_t m = 0; m < mirrors.count; ++m) {
    if (!replay.complete) {
      count(trafficCounters().mirror_dropped);  // larger than a kept copy may be
      continue;
    }
    mirrorRequest(executor, snapshot, *mirrors.clusters[m], worker_index, replay.bytes,
                  tls_sessions);
  }
}

}  // namespace weft::proxy
