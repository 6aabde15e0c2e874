#include "proxy/upstream/request_mirror.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <utility>

#include "proxy/http2/client_connection_pool.h"
#include "proxy/http2/stream_exchange.h"
#include "proxy/stats/security_counters.h"
#include "proxy/stats/traffic_counters.h"
#include "proxy/upstream/http1_upstream_io.h"
#include "proxy/upstream/mirror_copy.h"
#include "proxy/upstream/upstream_pick.h"
#include "proxy/upstream/upstream_retry.h"

namespace weft::proxy {
namespace {

namespace asio = boost::asio;

thread_local uint32_t mirrors_in_flight = 0;

// Holds one of the worker's kMaxMirrorsInFlight places while a copy runs. Taken before the
// copy's coroutine is spawned (it starts later), so a burst cannot overshoot the limit.
class MirrorInFlight {
 public:
  MirrorInFlight() { ++mirrors_in_flight; }
  MirrorInFlight(MirrorInFlight&& other) noexcept : held_(std::exchange(other.held_, false)) {}
  MirrorInFlight& operator=(MirrorInFlight&&) = delete;
  ~MirrorInFlight() {
    if (held_) {
      --mirrors_in_flight;
    }
  }

 private:
  bool held_ = true;
};

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

asio::awaitable<void> sendHttp1Copy(MirrorInFlight in_flight, SnapshotPtr snapshot,
                                    const ClusterConfig& cluster, asio::ip::tcp::endpoint endpoint,
                                    UpstreamTransport transport, std::string request,
                                    TlsSessionCache& tls_sessions) {
  const auto deadline = std::chrono::steady_clock::now() + kMirrorTimeout;
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
  (void)in_flight;
}

// A copy on an HTTP/2 connection: an exchange with no client, which is its own downstream
// and drains the answer as it comes (crediting flow control, so a large answer never stalls
// the connection). A local reply (connect failure, timeout) or a reset counts as a failure.
class MirrorExchange final : public StreamExchange, public ExchangeDownstream {
 public:
  explicit MirrorExchange(asio::any_io_executor executor) : StreamExchange(std::move(executor)) {
    downstream = this;
  }

  void responseHeadersReady(StreamExchange& /*exchange*/) override {
    if (answered_locally) {
      failed();
    }
    drain();
  }
  void responseDataReady(StreamExchange& /*exchange*/) override { drain(); }
  void requestBodyConsumed(StreamExchange& /*exchange*/, size_t /*length*/) override {}
  // Once per copy: a route timeout resets the stream, and its close reports the reset again.
  void resetByUpstream(StreamExchange& /*exchange*/, uint32_t /*h2_error*/) override { failed(); }

 private:
  void failed() {
    if (!failed_) {
      failed_ = true;
      count(trafficCounters().mirror_failures);
    }
  }
  void drain() {
    const size_t length = response_body.size();
    response_body.drop(length);
    // A local reply's body never came over the connection: nothing to credit back.
    if (length > 0 && upstream != nullptr && !answered_locally) {
      upstream->responseBodyDrained(*this, length);
    }
  }

  MirrorInFlight in_flight_;
  bool failed_ = false;
};

void sendHttp2Copy(const MirrorWorker& worker, const ClusterConfig& cluster, lb::Host& host,
                   HeaderList fields, std::string body) {
  fields.push_back({"x-weft-mirror", "1"});
  auto exchange = std::make_shared<MirrorExchange>(worker.executor);
  exchange->snapshot = worker.snapshot;  // `cluster` lives in it
  exchange->request = splitRequestHead(fields);
  exchange->request_body.append(body);
  exchange->request_body.ended = true;
  UpstreamTarget target{host.address(),
                        cluster.name,
                        cluster.connect_timeout,
                        std::chrono::duration_cast<std::chrono::milliseconds>(kMirrorTimeout),
                        cluster.upstream_idle_timeout,
                        cluster.max_requests_per_connection};
  target.transport = cluster.transportFor(host);
  target.tls_sessions = worker.tls_sessions;
  target.tls_owner = &cluster.tls;
  target.cluster = &cluster;
  if (cluster.max_connections_per_host != 0) {
    target.max_connections = cluster.connectionLimitShare(worker.worker_index);
  }
  worker.http2_pool->forward(worker.executor, exchange, fields, target, cluster.http2);
}

// One copy to `cluster`, in its protocol; false when it was dropped.
bool mirrorTo(const ClusterConfig& cluster, const KeptRequest& request,
              const MirrorWorker& worker) {
  if (mirrors_in_flight >= kMaxMirrorsInFlight) {
    return false;
  }
  lb::Host* host = chooseHost(cluster, worker.worker_index);
  if (host == nullptr) {
    return false;
  }
  if (cluster.protocol == UpstreamProtocol::kHttp2) {
    if (!worker.http2_pool || worker.tls_sessions == nullptr) {
      return false;
    }
    if (request.http2_fields != nullptr) {
      sendHttp2Copy(worker, cluster, *host, *request.http2_fields, std::string(request.bytes));
    } else if (std::optional<Http2RequestCopy> copy = http2Copy(request.bytes)) {
      sendHttp2Copy(worker, cluster, *host, std::move(copy->fields), std::move(copy->body));
    } else {
      return false;
    }
    return true;
  }
  std::string copy = withMirrorHeader(request.http2_fields != nullptr
                                          ? http1Copy(*request.http2_fields, request.bytes)
                                          : request.bytes);
  if (copy.empty() || worker.tls_sessions == nullptr) {
    return false;
  }
  asio::co_spawn(worker.executor,
                 sendHttp1Copy(MirrorInFlight(), worker.snapshot, cluster, host->address(),
                               cluster.transportFor(*host), std::move(copy), *worker.tls_sessions),
                 asio::detached);
  return true;
}

}  // namespace

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

void sendMirrors(const ChosenMirrors& mirrors, const KeptRequest& request,
                 const MirrorWorker& worker) {
  for (size_t m = 0; m < mirrors.count; ++m) {
    if (request.whole && mirrorTo(*mirrors.clusters[m], request, worker)) {
      count(trafficCounters().mirrored);
    } else {
      count(trafficCounters().mirror_dropped);
    }
  }
}

}  // namespace weft::proxy
