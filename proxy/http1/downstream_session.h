#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include "proxy/io/deadline_stream.h"

#include "proxy/io/idle_registry.h"
#include "proxy/listener/downstream_peer.h"
#include "proxy/snapshot/snapshot.h"
#include "proxy/stats/request_metrics.h"
#include "proxy/tls/tls_session_cache.h"
#include "proxy/tracing/request_tracing.h"
#include "proxy/tracing/span_exporter.h"
#include "proxy/upstream/http1_connection_pool.h"

namespace weft::proxy {

class Http2ClientPool;
class StreamIdleWatcher;

// Per-worker state a session reads: the current snapshot and the worker's
// load-balancing cursor. Owned by the worker; touched only on its thread.
struct WorkerContext {
  SnapshotPtr snapshot;
  uint64_t round_robin_cursor = 0;
  uint64_t next_request_id = 0;
  uint32_t worker_index = 0;
  bool draining = false;
  // Connections waiting for their next request. Draining closes them at once
  // instead of letting them run into the drain deadline.
  IdleRegistry idle_connections;
  Http1ConnectionPool upstream_pool;
  // Client TLS sessions for resumption towards upstreams (kept across config changes).
  TlsSessionCache tls_sessions;
  // Multiplexed HTTP/2 upstream connections, made on first use (proxy/http2/).
  std::shared_ptr<Http2ClientPool> http2_upstream_pool;
  const std::shared_ptr<Http2ClientPool>& http2UpstreamPool();
  // Stream idle timeouts of exchanges that involve HTTP/2, made on first use.
  std::shared_ptr<StreamIdleWatcher> stream_idle_watcher;
  StreamIdleWatcher& streamIdleWatcher(const boost::asio::any_io_executor& executor);
  // The golden metrics counted since the last scrape took them (proxy/stats/request_metrics.h).
  RequestMetricsShard request_metrics;
  // Sampling and the line buffer of access logs (proxy/access_log/).
  AccessLogWorker access_log;
  // Trace and span ids and sampling draws; the spans on their way to the collector, made on
  // first use (proxy/tracing/).
  TraceRandom trace_random;
  std::shared_ptr<SpanExporter> span_exporter;
  SpanExporter& spanExporter(const boost::asio::any_io_executor& executor);
  // The source label id of a request on `listener` from a client of mTLS identity
  // `peer_principal` (empty: none): for an inbound listener, the caller's namespace from its
  // SPIFFE id (interned once per identity, then cached here); otherwise the listener's own.
  uint32_t metricSource(const ListenerConfig& listener, std::string_view peer_principal);
  // Caller source ids by namespace (all the id depends on), looked up without a copy.
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>()(text); }
  };
  std::unordered_map<std::string, uint32_t, TextHash, std::equal_to<>> metric_callers;
};

// Serves one downstream HTTP/1.1 connection: reads requests in order (answering
// pipelined requests in order), routes each, forwards it to an endpoint of the
// chosen cluster and relays the response, until either side closes.
//
// Bodies stream both ways through a fixed buffer, whatever their size; upstream
// connections are kept alive and reused from the worker's pool.
//
// The listener and filter chain are named rather than passed: each request looks
// up their config in the worker's current snapshot, so route and limit changes
// reach open keep-alive connections too. `initial_bytes` holds what protocol
// detection already read. The stream carries TLS when the chain terminated it.
boost::asio::awaitable<void> serveHttp1Connection(DeadlineStream stream, DownstreamPeer peer,
                                                  boost::beast::flat_buffer initial_bytes,
                                                  std::string listener_name, std::string chain_name,
                                                  WorkerContext& worker);

}  // namespace weft::proxy
