#include "proxy/http2/server_connection.h"

#include "proxy/authz/request_authorization.h"
#include "proxy/filters/request_filters.h"
#include "proxy/io/stream_shutdown.h"

#include <nghttp2/nghttp2.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <optional>
#include <unordered_map>
#include "proxy/io/deadline_stream.h"

#include "common/log/logger.h"
#include "proxy/http2/client_connection_pool.h"
#include "proxy/http2/header_list_lookup.h"
#include "proxy/http2/http1_upstream_relay.h"
#include "proxy/http2/http2_attempts.h"
#include "proxy/http2/nghttp2_headers.h"
#include "proxy/http2/stream_exchange.h"
#include "proxy/http2/stream_idle_watch.h"
#include "proxy/router/grpc_timeout.h"
#include "proxy/router/path_normalization.h"
#include "proxy/router/route_decision.h"

namespace weft::proxy {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
// Frames are gathered up to this size before one write (fewer syscalls).
constexpr size_t kWriteBatchBytes = 64 * 1024;
constexpr size_t kReadBufferBytes = 16 * 1024;

spdlog::logger& h2Log() {
  static spdlog::logger& logger = weft::log::logger("http2");
  return logger;
}

void expireAfter(DeadlineStream& stream, std::chrono::milliseconds timeout) {
  if (timeout.count() > 0) {
    stream.expires_after(timeout);
  } else {
    stream.expires_never();
  }
}

// A downstream stream: its exchange and the header block being decoded.
struct ServerStream {
  ServerStream(StreamExchangePtr exchange_in, const HttpListenerLimits& limits)
      : exchange(std::move(exchange_in)),
        headers(limits.max_request_headers_bytes, limits.max_request_headers) {}

  StreamExchangePtr exchange;
  HeaderCollector headers;
};

class ServerConnection final : public ExchangeDownstream {
 public:
  ServerConnection(DeadlineStream stream, DownstreamPeer peer, std::string listener_name,
                   std::string chain_name, WorkerContext& worker)
      : stream_(std::move(stream)),
        write_signal_(stream_.get_executor()),
        listener_name_(std::move(listener_name)),
        chain_name_(std::move(chain_name)),
        worker_(worker),
        peer_(std::move(peer)) {
    peer_address_ = peer_.source.address().to_string();
    peer_ip_ = peer_.source.address();
  }

  ~ServerConnection() override {
    detachAll();
    nghttp2_session_del(session_);
  }

  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;

  asio::awaitable<void> run(beast::flat_buffer initial) {
    const HttpChainConfig* http = currentChain(worker_.snapshot);
    if (http == nullptr || !startSession(*http)) {
      co_return;
    }
    limits_ = http->limits;
    if (initial.size() > 0) {
      const auto data = initial.data();
      if (!receive(static_cast<const uint8_t*>(data.data()), data.size())) {
        closing_ = true;
      }
    }
    co_await (readLoop() && writeLoop());
    // Streams still open when the connection ends (the client went away, a protocol error,
    // the drain deadline) never see onStreamClose: they end here.
    for (auto& [id, stream] : streams_) {
      finishExchange(*stream->exchange);
    }
    co_await shutdownSending(stream_);
    stream_.close();
  }

  // ExchangeDownstream
  void responseHeadersReady(StreamExchange& exchange) override;
  void responseDataReady(StreamExchange& exchange) override;
  void requestBodyConsumed(StreamExchange& exchange, size_t length) override;
  void resetByUpstream(StreamExchange& exchange, uint32_t h2_error) override;

 private:
  const FilterChainConfig* currentFilterChain(const SnapshotPtr& snapshot) const {
    const ListenerConfig* listener = snapshot->findListener(listener_name_);
    return listener ? listener->findChain(chain_name_) : nullptr;
  }
  const HttpChainConfig* currentChain(const SnapshotPtr& snapshot) const {
    const FilterChainConfig* chain = currentFilterChain(snapshot);
    return chain != nullptr && chain->http ? &*chain->http : nullptr;
  }

  bool startSession(const HttpChainConfig& http);
  bool receive(const uint8_t* data, size_t length);
  asio::awaitable<void> readLoop();
  asio::awaitable<void> writeLoop();
  void signalWrite() { write_signal_.cancel(); }
  void maybeSendGoaway();
  void dispatch(const StreamExchangePtr& exchange);
  // Sends a routed request on to its cluster.
  // `delayed`: how long an injected delay already held the request, which the route timeout
  // counts.
  void forward(const StreamExchangePtr& exchange, const RouteDecision& decision,
               const HttpChainConfig& http,
               std::chrono::milliseconds delayed = std::chrono::milliseconds(0));
  // Waits out an injected delay, then answers or forwards, unless the stream
  // or its connection went away meanwhile.
  static asio::awaitable<void> forwardAfterDelay(StreamExchangePtr exchange, RouteDecision decision,
                                                 FilterVerdict filtered,
                                                 const HttpChainConfig* http);
  // The route deadline from grpc-timeout (route with max_grpc_timeout); rewrites
  // the forwarded grpc-timeout to it.
  std::chrono::milliseconds grpcDeadline(StreamExchange& exchange, const RouteEntry& route);
  void detachAll();
  // The client's side of an exchange is over: it is counted in the golden metrics and its
  // mirrors get their copy. Once per exchange, before its request body is dropped.
  void finishExchange(StreamExchange& exchange);
  // The exchange's access log line (`log_line`: its chain has a log, and it was chosen) and its
  // span (`export_span`: it was sampled and spans are exported).
  void logExchange(const StreamExchange& exchange, const RequestSeries& series,
                   std::chrono::steady_clock::time_point now, bool log_line, bool export_span);

  static ServerStream* streamOf(nghttp2_session* session, int32_t stream_id) {
    return static_cast<ServerStream*>(nghttp2_session_get_stream_user_data(session, stream_id));
  }
  static int onBeginHeaders(nghttp2_session* session, const nghttp2_frame* frame, void* user);
  static int onHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                      size_t name_length, const uint8_t* value, size_t value_length, uint8_t flags,
                      void* user);
  static int onFrameReceived(nghttp2_session* session, const nghttp2_frame* frame, void* user);
  static int onDataChunk(nghttp2_session* session, uint8_t flags, int32_t stream_id,
                         const uint8_t* data, size_t length, void* user);
  static int onStreamClose(nghttp2_session* session, int32_t stream_id, uint32_t error_code,
                           void* user);
  static ssize_t readResponseBody(nghttp2_session* session, int32_t stream_id, uint8_t* buffer,
                                  size_t length, uint32_t* flags, nghttp2_data_source* source,
                                  void* user);

  DeadlineStream stream_;
  asio::steady_timer write_signal_;
  std::string listener_name_;
  std::string chain_name_;
  WorkerContext& worker_;
  DownstreamPeer peer_;
  std::string authz_scratch_;  // a repeated header's joined value, for policy conditions
  std::string peer_address_;
  boost::asio::ip::address peer_ip_;
  HttpListenerLimits limits_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<int32_t, std::unique_ptr<ServerStream>> streams_;
  // Streams whose request headers are complete, routed after mem_recv returns
  // (nghttp2 must not be re-entered from its own callbacks).
  std::vector<StreamExchangePtr> ready_;
  std::string out_;
  bool closing_ = false;
  bool goaway_sent_ = false;
  uint32_t requests_served_ = 0;
};

bool ServerConnection::startSession(const HttpChainConfig& http) {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) {
    return false;
  }
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &onFrameReceived);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &onStreamClose);
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  // Window updates follow what went upstream, not what arrived: backpressure.
  nghttp2_option_set_no_auto_window_update(option, 1);
  const int rv = nghttp2_session_server_new2(&session_, callbacks, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  if (rv != 0) {
    session_ = nullptr;
    return false;
  }
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, http.http2.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, http.http2.initial_stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, http.limits.max_request_headers_bytes},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  };
  if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0) {
    return false;
  }
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<int32_t>(http.http2.initial_connection_window));
  return true;
}

bool ServerConnection::receive(const uint8_t* data, size_t length) {
  const ssize_t rv = nghttp2_session_mem_recv(session_, data, length);
  if (rv < 0) {
    h2Log().info("{} from {}: HTTP/2 connection error: {}", listener_name_, peer_address_,
                 nghttp2_strerror(static_cast<int>(rv)));
    // Queues a GOAWAY where nghttp2 did not already; the writer flushes it.
    nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
    signalWrite();
    return false;
  }
  std::vector<StreamExchangePtr> ready;
  ready.swap(ready_);
  for (const StreamExchangePtr& exchange : ready) {
    if (!exchange->downstream_closed) {
      dispatch(exchange);
    }
  }
  signalWrite();
  return true;
}

void ServerConnection::maybeSendGoaway() {
  if (worker_.draining && !goaway_sent_ && session_ != nullptr) {
    goaway_sent_ = true;
    // Streams up to the last one seen finish; the client opens new ones elsewhere.
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                          nullptr, 0);
    signalWrite();
  }
}

asio::awaitable<void> ServerConnection::readLoop() {
  std::array<uint8_t, kReadBufferBytes> buffer;
  while (!closing_) {
    maybeSendGoaway();
    if (nghttp2_session_want_read(session_) == 0) {
      break;
    }
    const bool idle = streams_.empty();
    // Open streams have route timeouts of their own; only an idle connection times out.
    expireAfter(stream_, idle ? limits_.idle_timeout : std::chrono::milliseconds(0));
    std::optional<IdleRegistry::Entry> idle_entry;
    if (idle) {
      idle_entry.emplace(worker_.idle_connections, stream_);
    }
    auto [error, bytes] = co_await stream_.async_read_some(asio::buffer(buffer), kUseTuple);
    idle_entry.reset();
    if (error) {
      if (error == asio::error::operation_aborted && worker_.draining && !closing_) {
        continue;  // woken by drain: GOAWAY at the top of the loop
      }
      break;
    }
    if (!receive(buffer.data(), bytes)) {
      break;
    }
  }
  closing_ = true;
  signalWrite();
}

asio::awaitable<void> ServerConnection::writeLoop() {
  for (;;) {
    maybeSendGoaway();
    out_.clear();
    for (;;) {
      const uint8_t* data = nullptr;
      const ssize_t length = nghttp2_session_mem_send(session_, &data);
      if (length < 0) {
        closing_ = true;
        break;
      }
      if (length == 0) {
        break;
      }
      out_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(length));
      if (out_.size() >= kWriteBatchBytes) {
        break;
      }
    }
    if (!out_.empty()) {
      if (closing_) {
        stream_.expires_after(std::chrono::seconds(5));  // last words; do not wait long
      }
      auto [error, written] = co_await asio::async_write(stream_, asio::buffer(out_), kUseTuple);
      if (error) {
        closing_ = true;
        error_code ignored;
        stream_.socket().cancel(ignored);
        break;
      }
      continue;
    }
    if (closing_) {
      break;
    }
    if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) {
      closing_ = true;
      error_code ignored;
      stream_.socket().cancel(ignored);  // end the reader's wait
      break;
    }
    write_signal_.expires_at(asio::steady_timer::time_point::max());
    co_await write_signal_.async_wait(kUseTuple);
  }
}

void ServerConnection::dispatch(const StreamExchangePtr& exchange) {
  const SnapshotPtr snapshot = worker_.snapshot;
  const FilterChainConfig* chain = currentFilterChain(snapshot);
  const HttpChainConfig* http = chain != nullptr && chain->http ? &*chain->http : nullptr;
  if (http == nullptr) {
    // The chain went away with a config change: this connection ends.
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, exchange->stream_id,
                              NGHTTP2_REFUSED_STREAM);
    if (!goaway_sent_) {
      goaway_sent_ = true;
      nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                            nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                            nullptr, 0);
    }
    return;
  }
  exchange->snapshot = snapshot;
  exchange->hide_local_reply_reason = http->hide_local_reply_reason;
  exchange->metrics.access_log = http->access_log.get();
  exchange->metrics.tracing = http->tracing.get();
  ++requests_served_;
  if (http->max_requests_per_connection != 0 &&
      requests_served_ >= http->max_requests_per_connection && !goaway_sent_) {
    // Drain: this stream is the last; the client opens a new connection.
    goaway_sent_ = true;
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, exchange->stream_id, NGHTTP2_NO_ERROR,
                          nullptr, 0);
  }
  RequestHead& request = exchange->request;
  exchange->head_request = request.method == "HEAD";
  // A failure answered before any upstream is involved: logged, as every
  // local reply is, then answered (as a gRPC status to a gRPC client).
  auto refuse = [&](LocalReplyReason reason, unsigned status, const std::string& detail) {
    h2Log().info("{} from {}: {} {}: {} {} ({})", listener_name_, peer_address_, request.method,
                 request.path.substr(0, 256), status, localReplyCode(reason), detail);
    exchange->localReply(reason, status, detail);
  };
  if (exchange->request_headers_too_large) {
    h2Log().info("{} from {}: 431 request headers over the limit", listener_name_, peer_address_);
    exchange->localReply(LocalReplyReason::kHeadersTooLarge, 431,
                         "request headers are larger than " +
                             std::to_string(http->limits.max_request_headers_bytes) +
                             " bytes or more than " +
                             std::to_string(http->limits.max_request_headers) + " fields");
    return;
  }
  if (request.method == "CONNECT" || request.path.empty()) {
    refuse(LocalReplyReason::kBadRequest, 400,
           "CONNECT and requests without :path are not proxied");
    return;
  }
  std::string normalized_path;
  switch (normalizePath(request.path, http->path_normalization, normalized_path)) {
    case PathVerdict::kUnchanged:
      break;
    case PathVerdict::kRewritten:
      request.path = std::move(normalized_path);
      break;
    case PathVerdict::kInvalid:
      refuse(LocalReplyReason::kBadRequest, 400,
             "invalid request path (bad percent-encoding or not origin-form)");
      return;
    case PathVerdict::kEscapedSlash:
      refuse(LocalReplyReason::kEscapedSlash, 400, "encoded slash in the request path");
      return;
  }
  const HeaderListLookup header_lookup(request.fields);
  if (chain->authorization) {
    std::string detail;
    if (!authorizeRequest(*chain->authorization, peer_, listener_name_, request.method,
                          request.authority, request.path, header_lookup, authz_scratch_, detail,
                          exchange->metrics.authz_policy)) {
      exchange->localReply(LocalReplyReason::kAuthzDenied, 403, detail);
      return;
    }
  }
  const RequestView view{request.method, request.scheme, request.authority,
                         request.path,   &header_lookup, peer_ip_};
  const RouteDecision decision =
      decideRoute(*http, view, worker_.worker_index, worker_.round_robin_cursor);
  exchange->metrics.route = decision.route;
  if (decision.cluster != nullptr) {
    exchange->metrics.series.destination =
        decision.cluster->metricDestination(exchange->metrics.series.direction, decision.host);
    exchange->metrics.cluster = decision.cluster;
  }
  if (decision.kind == RouteDecision::Kind::kLocalReply) {
    if (decision.local_reason == LocalReplyReason::kDirectResponse ||
        decision.local_reason == LocalReplyReason::kRedirect) {
      exchange->localReply(makeDecisionReply(decision, 11, true, exchange->head_request));
    } else {
      // A failure: a gRPC client gets it as a gRPC status (localReply decides).
      exchange->response_mutations = decision.response_mutations;
      refuse(decision.local_reason, decision.status, decision.detail);
    }
    return;
  }
  // From here on every response, a failure's local reply included, gets them.
  exchange->response_mutations = decision.response_mutations;
  if (hasRequestFilters(*decision.route)) {
    // The route's rate limit and faults: a refused or aborted request is
    // answered here; a delayed one waits on its own coroutine.
    FilterVerdict filtered = runRequestFilters(*decision.route, view, exchange->isGrpc(),
                                               peer_.principal, authz_scratch_);
    if (filtered.delay.count() > 0) {
      asio::co_spawn(stream_.get_executor(),
                     forwardAfterDelay(exchange, decision, std::move(filtered), http),
                     asio::detached);
      return;
    }
    if (filtered.reply) {
      h2Log().info("{} from {}: {} {}: {} {} ({})", listener_name_, peer_address_, request.method,
                   request.path.substr(0, 256), filtered.status, localReplyCode(filtered.reason),
                   filtered.detail);
      exchange->localReply(filtered.reason, filtered.status, filtered.detail, filtered.grpc_status);
      return;
    }
    exchange->fault_activity = std::move(filtered.fault_activity);
  }
  forward(exchange, decision, *http);
}

asio::awaitable<void> ServerConnection::forwardAfterDelay(StreamExchangePtr exchange,
                                                          RouteDecision decision,
                                                          FilterVerdict filtered,
                                                          const HttpChainConfig* http) {
  // The wait is on the exchange's own timer, which a closed stream or
  // connection cancels: a reset stream does not sit out its delay (nor hold
  // the worker's shutdown). Other wakeups just re-arm it.
  const auto until = std::chrono::steady_clock::now() + filtered.delay;
  while (std::chrono::steady_clock::now() < until) {
    exchange->wake.expires_at(until);
    co_await exchange->wake.async_wait(asio::as_tuple(asio::use_awaitable));
    // The exchange holds the snapshot, so `decision` and `http` are still
    // valid; the connection is, while the exchange is attached to it.
    if (exchange->downstream == nullptr || exchange->downstream_closed) {
      co_return;
    }
  }
  if (filtered.reply) {
    h2Log().info("{} {}: {} {} ({})", exchange->request.method,
                 exchange->request.path.substr(0, 256), filtered.status,
                 localReplyCode(filtered.reason), filtered.detail);
    exchange->localReply(filtered.reason, filtered.status, filtered.detail, filtered.grpc_status);
    co_return;
  }
  exchange->fault_activity = std::move(filtered.fault_activity);
  // Only a ServerConnection attaches itself as a server exchange's downstream.
  static_cast<ServerConnection*>(exchange->downstream)
      ->forward(exchange, decision, *http, filtered.delay);
}

void ServerConnection::forward(const StreamExchangePtr& exchange, const RouteDecision& decision,
                               const HttpChainConfig& http_chain,
                               std::chrono::milliseconds delayed) {
  const HttpChainConfig* http = &http_chain;
  const RouteEntry& route = *decision.route;
  if (!exchange->request_slot.tryTake(decision.cluster->circuit,
                                      &ClusterCircuitCounts::active_requests,
                                      decision.cluster->circuit_limits.max_requests)) {
    const std::string detail =
        circuitOverflowDetail(decision.cluster->name, decision.cluster->circuit_limits.max_requests,
                              "requests in flight", "max_requests");
    h2Log().info("{} {}: 503 upstream_overflow ({})", exchange->request.method,
                 exchange->request.path.substr(0, 256), detail);
    exchange->localReply(LocalReplyReason::kUpstreamOverflow, 503, detail);
    return;
  }
  const ClusterConfig& cluster = *decision.cluster;
  if (!decision.set_cookie.empty()) {
    exchange->response_additions.push_back({"set-cookie", decision.set_cookie});
  }
  exchange->active_request = ActiveRequest(decision.host);
  exchange->metrics.host = decision.host;
  RequestHead& head = exchange->request;
  if (!route.host_rewrite.empty()) {
    head.fields.push_back({"x-forwarded-host", head.authority});
    head.authority = route.host_rewrite;
  }
  if (http->tracing) {
    // The proxy's span: its context replaces the caller's in the forwarded request (before the
    // route's header mutations, as for HTTP/1.1).
    const uint16_t present = presentTraceFields(head.fields);
    const RequestTrace& trace = exchange->metrics.trace =
        startRequestTrace(*http->tracing, HeaderListLookup(head.fields), present, authz_scratch_,
                          worker_.trace_random);
    replaceTraceFields(head.fields, staleTraceFields(trace, http->tracing->formats, present),
                       TraceHeaders(trace));
  }
  decision.request_mutations.apply(head.fields);
  ForwardingFacts facts;
  facts.peer_principal = peer_.principal;
  if (http->limits.append_x_forwarded_for) {
    facts.peer_address = peer_address_;
  }
  if (http->limits.generate_request_id) {
    facts.request_id = makeRequestId(worker_.worker_index, ++worker_.next_request_id);
    if (exchange->metrics.access_log != nullptr || exchange->metrics.tracing != nullptr) {
      exchange->metrics.request_id = facts.request_id;  // for the log line and the span
    }
  }
  if (http->request_id_in_response) {
    const auto client_id =
        std::find_if(head.fields.begin(), head.fields.end(),
                     [](const HeaderField& field) { return field.name == "x-request-id"; });
    const std::string& id = client_id != head.fields.end() ? client_id->value : facts.request_id;
    if (!id.empty()) {
      exchange->response_additions.push_back({"x-request-id", id});
    }
  }
  if (!rewriteTarget(route, head.path, facts.path)) {
    facts.path = head.path;
  }
  std::chrono::milliseconds timeout = route.timeout;
  if (route.max_grpc_timeout) {
    timeout = grpcDeadline(*exchange, route);
  }
  const std::optional<std::chrono::milliseconds> time_left = timeoutAfterDelay(timeout, delayed);
  if (!time_left) {
    exchange->localReply(
        LocalReplyReason::kUpstreamTimeout, 504,
        "cluster '" + cluster.name + "': " + delayPastTimeoutDetail(timeout, delayed));
    return;
  }
  timeout = *time_left;
  UpstreamTarget target{decision.host->address(),      cluster.name,
                        cluster.connect_timeout,       timeout,
                        cluster.upstream_idle_timeout, cluster.max_requests_per_connection};
  target.transport = cluster.transportFor(*decision.host);
  target.tls_sessions = &worker_.tls_sessions;
  target.tls_owner = &cluster.tls;
  target.cluster = &cluster;
  if (cluster.max_connections_per_host != 0) {
    target.max_connections = cluster.connectionLimitShare(worker_.worker_index);
    if (cluster.protocol == UpstreamProtocol::kHttp1) {
      target.connection_limit =
          cluster.connectionLimit(worker_.worker_index, decision.host->index());
    }
  }
  const std::chrono::milliseconds idle = streamIdleTimeout(route, http->limits);
  if (idle.count() > 0) {
    worker_.streamIdleWatcher(stream_.get_executor()).watch(*exchange, idle, target.cluster_name);
  }
  WorkerClusterState& cluster_state = cluster.workerState(worker_.worker_index);
  cluster_state.retry_budget->deposit();  // every request earns its share of retries
  OutlierDetector* outlier = cluster_state.outlier.get();
  if (cluster.protocol == UpstreamProtocol::kHttp2) {
    worker_.http2UpstreamPool();
    HeaderList fields = http2RequestFields(head, facts);
    const ChosenMirrors mirrors = route.mirrors.empty() ? ChosenMirrors{} : chooseMirrors(route);
    if (route.retry_policy || outlier != nullptr || mirrors.count > 0) {
      const Http2Attempts::Setup setup{
          route.retry_policy.get(),
          &cluster,
          worker_.worker_index,
          decision.host,
          decision.hash,
          outlier,
          std::chrono::steady_clock::now() +
              (timeout.count() > 0 ? timeout : std::chrono::hours(24 * 365)),
          mirrors};
      exchange->attempts =
          std::make_unique<Http2Attempts>(setup, *exchange, fields, target, cluster.http2,
                                          worker_.http2_upstream_pool, stream_.get_executor());
    }
    worker_.http2_upstream_pool->forward(stream_.get_executor(), exchange, fields, target,
                                         cluster.http2);
    return;
  }
  Http1RelayParams relay{std::move(facts), std::move(target)};
  relay.host = decision.host;
  relay.hash = decision.hash;
  relay.worker_index = worker_.worker_index;
  relay.retry_policy = route.retry_policy.get();
  relay.outlier = outlier;
  relay.mirrors = route.mirrors.empty() ? ChosenMirrors{} : chooseMirrors(route);
  if (relay.mirrors.count > 0) {
    relay.http2_pool = worker_.http2UpstreamPool();  // for mirror clusters that speak HTTP/2
  }
  asio::co_spawn(stream_.get_executor(),
                 relayToHttp1Upstream(exchange, std::move(relay), worker_.upstream_pool),
                 asio::detached);
}

std::chrono::milliseconds ServerConnection::grpcDeadline(StreamExchange& exchange,
                                                         const RouteEntry& route) {
  std::string_view content_type;
  HeaderField* grpc_timeout = nullptr;
  for (HeaderField& field : exchange.request.fields) {
    if (field.name == "content-type") {
      content_type = field.value;
    } else if (field.name == "grpc-timeout") {
      grpc_timeout = &field;
    }
  }
  const RequestDeadline deadline = requestDeadline(
      route, content_type,
      grpc_timeout ? std::optional<std::string_view>(grpc_timeout->value) : std::nullopt);
  if (deadline.malformed_grpc_timeout) {
    h2Log().info("{} from {}: {} {}: malformed grpc-timeout '{}' ignored", listener_name_,
                 peer_address_, exchange.request.method, exchange.request.path,
                 grpc_timeout->value.substr(0, 64));
  } else if (deadline.forwarded_grpc_timeout) {
    grpc_timeout->value = *deadline.forwarded_grpc_timeout;  // the time left
  }
  return deadline.timeout;
}

void ServerConnection::finishExchange(StreamExchange& exchange) {
  const RequestSeries series = exchange.metricSeries();
  const auto now = std::chrono::steady_clock::now();
  worker_.request_metrics.recordRequest(series.key(), now - exchange.metrics.started,
                                        exchange.metrics.request_body_bytes,
                                        exchange.metrics.response_body_bytes);
  const bool log_line = worker_.access_log.wants(
      exchange.metrics.access_log, accessLogFailure(series.response_code, series.response_flag),
      exchange.metrics.route != nullptr ? exchange.metrics.route->access_log_sample_threshold
                                        : std::nullopt);
  const ChainTracingConfig* tracing = exchange.metrics.tracing;
  const bool export_span =
      exchange.metrics.trace.sampled && tracing != nullptr && tracing->export_spans;
  if (log_line || export_span) {
    logExchange(exchange, series, now, log_line, export_span);
  }
  if (exchange.attempts) {
    exchange.attempts->exchangeEnded(exchange);  // mirrors get their copy
  }
}

void ServerConnection::logExchange(const StreamExchange& exchange, const RequestSeries& series,
                                   std::chrono::steady_clock::time_point now, bool log_line,
                                   bool export_span) {
  const auto& metrics = exchange.metrics;
  const RequestHead& request = exchange.request;
  AccessLogRecord record;
  record.start_time = systemTimeOf(metrics.started, now);
  record.duration = now - metrics.started;
  if (metrics.upstream_answered != std::chrono::steady_clock::time_point{}) {
    record.upstream_service_time = metrics.upstream_answered - metrics.started;
  }
  record.protocol = "HTTP/2";
  record.method = request.method;
  record.authority = request.authority;
  record.path = request.path;
  // A route's host_rewrite moved the client's authority to the last x-forwarded-host.
  const bool host_rewritten =
      metrics.route != nullptr && !metrics.route->host_rewrite.empty() && metrics.host != nullptr;
  for (const HeaderField& field : request.fields) {
    if (host_rewritten && field.name == "x-forwarded-host") {
      record.authority = field.value;
    } else if (field.name == "user-agent") {
      record.user_agent = field.value;
    } else if (field.name == "x-request-id") {
      record.request_id = field.value;
    } else if (field.name == "traceparent") {
      record.traceparent = field.value;
    }
  }
  if (record.request_id.empty()) {
    record.request_id = metrics.request_id;
  }
  // With tracing, what went upstream is the proxy's own context.
  std::optional<TraceHeaders> forwarded_trace;
  if (metrics.trace.span_id != 0 && (metrics.trace.write_formats & kTraceW3c) != 0) {
    forwarded_trace.emplace(metrics.trace);
    record.traceparent = forwarded_trace->traceparent();
  }
  record.trace_id = traceIdOf(record.traceparent);
  record.response_code = series.response_code;
  record.grpc_status = series.grpc_status;
  record.response_flags = responseFlagName(series.response_flag);
  record.bytes_received = metrics.request_body_bytes;
  record.bytes_sent = metrics.response_body_bytes;
  if (metrics.route != nullptr) {
    record.route_name = metrics.route->name;
    record.route_metadata = &metrics.route->metadata;
  }
  if (metrics.cluster != nullptr) {
    record.upstream_cluster = metrics.cluster->name;
    if (metrics.host != nullptr) {
      record.upstream_host = metrics.host->address();
      record.upstream_principal = metrics.cluster->transportFor(*metrics.host).expected_identity;
    }
  }
  record.downstream_peer = peer_.source;
  record.downstream_principal = peer_.principal;
  record.retries = metrics.retries;
  record.authz = metrics.authz_policy;
  if (log_line) {
    worker_.access_log.write(*metrics.access_log, record, worker_.worker_index);
  }
  if (export_span) {
    worker_.spanExporter(stream_.get_executor())
        .add(makeSpan(*metrics.tracing, metrics.trace, record));
  }
}

void ServerConnection::detachAll() {
  for (auto& [id, stream] : streams_) {
    StreamExchange& exchange = *stream->exchange;
    exchange.downstream_closed = true;
    exchange.downstream = nullptr;
    if (exchange.upstream != nullptr) {
      exchange.upstream->resetByDownstream(exchange);
    }
    exchange.wake.cancel();
  }
  streams_.clear();
}

void ServerConnection::responseHeadersReady(StreamExchange& exchange) {
  if (exchange.downstream_closed) {
    return;
  }
  if (exchange.discard_request_body && exchange.request_body.size() > 0) {
    // Bytes a retry put back were credited to the client when they first went upstream.
    const size_t pending = exchange.request_body.size();
    const size_t replayed =
        exchange.attempts ? std::min(pending, exchange.attempts->replayedBytesPending()) : 0;
    nghttp2_session_consume(session_, exchange.stream_id, pending - replayed);
    exchange.request_body.drop(pending);
  }
  const std::vector<nghttp2_nv> nva = toNv(exchange.response_fields);
  const BodyPipe& body = exchange.response_body;
  nghttp2_data_provider provider{};
  provider.source.ptr = &exchange;
  provider.read_callback = &readResponseBody;
  const bool empty = body.ended && body.size() == 0 && body.trailers.empty();
  const int rv = nghttp2_submit_response(session_, exchange.stream_id, nva.data(), nva.size(),
                                         empty ? nullptr : &provider);
  if (rv != 0) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, exchange.stream_id,
                              NGHTTP2_INTERNAL_ERROR);
  }
  signalWrite();
}

void ServerConnection::responseDataReady(StreamExchange& exchange) {
  if (exchange.downstream_closed) {
    return;
  }
  // Fails harmlessly when the provider is not deferred.
  nghttp2_session_resume_data(session_, exchange.stream_id);
  signalWrite();
}

void ServerConnection::requestBodyConsumed(StreamExchange& exchange, size_t length) {
  if (exchange.downstream_closed) {
    return;
  }
  nghttp2_session_consume(session_, exchange.stream_id, length);
  signalWrite();
}

void ServerConnection::resetByUpstream(StreamExchange& exchange, uint32_t h2_error) {
  if (exchange.downstream_closed) {
    return;
  }
  exchange.metrics.broke_off = kFlagUpstreamResetAfterResponse;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, exchange.stream_id, h2_error);
  signalWrite();
}

int ServerConnection::onBeginHeaders(nghttp2_session* session, const nghttp2_frame* frame,
                                     void* user) {
  auto* self = static_cast<ServerConnection*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS) {
    return 0;
  }
  const int32_t id = frame->hd.stream_id;
  if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    auto exchange = std::make_shared<StreamExchange>(self->stream_.get_executor());
    exchange->metrics.started = std::chrono::steady_clock::now();
    // Here, not at dispatch: a stream the proxy resets before then is counted as its
    // listener's too.
    if (const ListenerConfig* listener =
            self->worker_.snapshot->findListener(self->listener_name_)) {
      exchange->metrics.series.direction = listener->direction;
      exchange->metrics.series.destination = listener->metric_destination;
      exchange->metrics.series.source =
          self->worker_.metricSource(*listener, self->peer_.principal);
    }
    exchange->stream_id = id;
    exchange->downstream = self;
    auto stream = std::make_unique<ServerStream>(std::move(exchange), self->limits_);
    nghttp2_session_set_stream_user_data(session, id, stream.get());
    self->streams_[id] = std::move(stream);
  } else if (ServerStream* stream = streamOf(session, id)) {
    // Trailers: a new block under the same limits.
    stream->headers =
        HeaderCollector(self->limits_.max_request_headers_bytes, self->limits_.max_request_headers);
  }
  return 0;
}

int ServerConnection::onHeader(nghttp2_session* session, const nghttp2_frame* frame,
                               const uint8_t* name, size_t name_length, const uint8_t* value,
                               size_t value_length, uint8_t /*flags*/, void* /*user*/) {
  if (ServerStream* stream = streamOf(session, frame->hd.stream_id)) {
    stream->headers.add(std::string_view(reinterpret_cast<const char*>(name), name_length),
                        std::string_view(reinterpret_cast<const char*>(value), value_length));
  }
  return 0;
}

int ServerConnection::onFrameReceived(nghttp2_session* session, const nghttp2_frame* frame,
                                      void* user) {
  auto* self = static_cast<ServerConnection*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) {
    return 0;
  }
  ServerStream* stream = streamOf(session, frame->hd.stream_id);
  if (stream == nullptr) {
    return 0;
  }
  StreamExchange& exchange = *stream->exchange;
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame->hd.type == NGHTTP2_HEADERS) {
    if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      if (stream->headers.tooLarge()) {
        exchange.request_headers_too_large = true;
      } else {
        exchange.request = splitRequestHead(std::move(stream->headers.fields()));
      }
      stream->headers.fields().clear();
      exchange.request_body.ended = end_stream;
      self->ready_.push_back(stream->exchange);
      return 0;
    }
    if (stream->headers.tooLarge()) {
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                NGHTTP2_ENHANCE_YOUR_CALM);
      return 0;
    }
    exchange.request_body.trailers = std::move(stream->headers.fields());
  }
  if (end_stream) {
    exchange.request_body.ended = true;
    if (exchange.upstream != nullptr) {
      exchange.upstream->requestDataReady(exchange);
    }
  }
  return 0;
}

int ServerConnection::onDataChunk(nghttp2_session* session, uint8_t /*flags*/, int32_t stream_id,
                                  const uint8_t* data, size_t length, void* /*user*/) {
  ServerStream* stream = streamOf(session, stream_id);
  if (stream != nullptr) {
    stream->exchange->metrics.request_body_bytes += length;
  }
  if (stream == nullptr || stream->exchange->discard_request_body) {
    nghttp2_session_consume(session, stream_id, length);
    return 0;
  }
  StreamExchange& exchange = *stream->exchange;
  exchange.request_body.append(data, length);
  if (exchange.upstream != nullptr) {
    exchange.upstream->requestDataReady(exchange);
  }
  return 0;
}

int ServerConnection::onStreamClose(nghttp2_session* session, int32_t stream_id,
                                    uint32_t /*error_code*/, void* user) {
  auto* self = static_cast<ServerConnection*>(user);
  auto it = self->streams_.find(stream_id);
  if (it == self->streams_.end()) {
    return 0;
  }
  StreamExchangePtr exchange = it->second->exchange;
  self->streams_.erase(it);
  self->finishExchange(*exchange);
  // Bytes never sent upstream still count against the connection window (bytes put back for
  // a retry were counted when they first went).
  const size_t replayed =
      exchange->attempts ? exchange->attempts->replayedBytesPending() : size_t{0};
  nghttp2_session_consume_connection(
      session, exchange->request_body.size() - std::min(replayed, exchange->request_body.size()));
  exchange->request_body.drop(exchange->request_body.size());
  exchange->downstream_closed = true;
  exchange->downstream = nullptr;
  if (exchange->upstream != nullptr) {
    exchange->upstream->resetByDownstream(*exchange);
  }
  exchange->wake.cancel();
  return 0;
}

ssize_t ServerConnection::readResponseBody(nghttp2_session* session, int32_t stream_id,
                                           uint8_t* buffer, size_t length, uint32_t* flags,
                                           nghttp2_data_source* source, void* /*user*/) {
  auto* exchange = static_cast<StreamExchange*>(source->ptr);
  BodyPipe& body = exchange->response_body;
  const size_t taken = body.take(buffer, length);
  exchange->metrics.response_body_bytes += taken;
  if (taken > 0 && exchange->upstream != nullptr) {
    exchange->upstream->responseBodyDrained(*exchange, taken);
  }
  if (body.size() == 0 && body.ended) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!body.trailers.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      const std::vector<nghttp2_nv> nva = toNv(body.trailers);
      nghttp2_submit_trailer(session, stream_id, nva.data(), nva.size());
    }
    return static_cast<ssize_t>(taken);
  }
  if (taken == 0) {
    return NGHTTP2_ERR_DEFERRED;
  }
  return static_cast<ssize_t>(taken);
}

}  // namespace

asio::awaitable<void> serveHttp2Connection(DeadlineStream stream, DownstreamPeer peer,
                                           beast::flat_buffer initial_bytes,
                                           std::string listener_name, std::string chain_name,
                                           WorkerContext& worker) {
  auto connection = std::make_unique<ServerConnection>(
      std::move(stream), std::move(peer), std::move(listener_name), std::move(chain_name), worker);
  co_await connection->run(std::move(initial_bytes));
}

}  // namespace weft::proxy
