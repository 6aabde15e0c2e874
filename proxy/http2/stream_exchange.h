#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>

#include "proxy/filters/fault_injection.h"
#include "proxy/http1/local_reply.h"
#include "proxy/http2/header_translation.h"
#include "proxy/router/header_mutation.h"
#include "proxy/snapshot/snapshot.h"
#include "proxy/upstream/connection_limit.h"
#include "proxy/upstream/upstream_pick.h"

namespace weft::proxy {

// Body bytes in flight between the two sides of an exchange, plus the end of
// the message and its trailers. Its size is bounded by HTTP/2 flow control (or,
// for an HTTP/1.1 upstream, by the relay reading only when it is drained).
class BodyPipe {
 public:
  size_t size() const { return data_.size() - offset_; }
  void append(const uint8_t* data, size_t length) {
    data_.append(reinterpret_cast<const char*>(data), length);
    moved_ += length;
  }
  void append(std::string_view data) {
    data_.append(data);
    moved_ += data.size();
  }
  // Copies up to `max` bytes to `out` and removes them.
  size_t take(uint8_t* out, size_t max);
  std::string_view peek() const { return std::string_view(data_).substr(offset_); }
  void drop(size_t length);
  // Puts `sent` (bytes taken earlier) back in front, for another attempt to send again.
  void restore(std::string_view sent) {
    data_ = std::string(sent).append(peek());
    offset_ = 0;
  }
  // Bytes that went in or out so far: the stream idle watch sees progress in it.
  uint64_t moved() const { return moved_; }

  bool ended = false;
  HeaderList trailers;

 private:
  std::string data_;
  size_t offset_ = 0;
  uint64_t moved_ = 0;
};

class StreamExchange;
class StreamIdleWatcher;
class Http2Attempts;

// An exchange's place in the worker's StreamIdleWatcher (stream_idle_watch.h):
// an intrusive list, so that an exchange leaves it the moment it is destroyed
// and the watcher never keeps one alive or dangling.
struct IdleWatchLink {
  using Progress = std::tuple<uint64_t, uint64_t, bool, bool, bool>;
  StreamIdleWatcher* watcher = nullptr;  // null: not watched
  StreamExchange* prev = nullptr;
  StreamExchange* next = nullptr;
  std::chrono::milliseconds idle{0};
  Progress seen{};
  std::chrono::steady_clock::time_point last_change{};
  std::string cluster_name;
};

// The side an exchange's request came from (the downstream HTTP/2 stream).
class ExchangeDownstream {
 public:
  virtual ~ExchangeDownstream() = default;
  // The response headers are set (response_fields); body may follow.
  virtual void responseHeadersReady(StreamExchange& exchange) = 0;
  // Response body bytes, its end or its trailers arrived.
  virtual void responseDataReady(StreamExchange& exchange) = 0;
  // `length` request body bytes went upstream: the client may send more.
  virtual void requestBodyConsumed(StreamExchange& exchange, size_t length) = 0;
  // The upstream broke off after the response started: reset the stream.
  virtual void resetByUpstream(StreamExchange& exchange, uint32_t h2_error) = 0;
};

// The side an exchange's request goes to.
class ExchangeUpstream {
 public:
  virtual ~ExchangeUpstream() = default;
  virtual void requestDataReady(StreamExchange& exchange) = 0;
  virtual void responseBodyDrained(StreamExchange& exchange, size_t length) = 0;
  virtual void resetByDownstream(StreamExchange& exchange) = 0;
  // The proxy gave up on this attempt (per-try timeout): stop it, and drop whatever it still
  // delivers, without answering the client.
  virtual void abandonAttempt(StreamExchange& exchange) { resetByDownstream(exchange); }
};

// One request and its response, joining the downstream stream and the upstream
// that serves it (as nghttpx's Downstream object does). Shared by both sides;
// each detaches itself when it goes away, so neither calls into a dead one.
class StreamExchange : public std::enable_shared_from_this<StreamExchange> {
 public:
  // Out of line, as the destructor: `attempts` is of a type this header only declares.
  explicit StreamExchange(boost::asio::any_io_executor executor);
  ~StreamExchange();
  StreamExchange(const StreamExchange&) = delete;
  StreamExchange& operator=(const StreamExchange&) = delete;

  // Answers locally: sets the response and tells the downstream. Only before
  // the response started. A gRPC request gets a trailers-only gRPC answer.
  // `grpc_status`: what a gRPC client gets, when not grpcStatusFor(reason).
  void localReply(LocalReplyReason reason, unsigned status, std::string_view detail,
                  int grpc_status = -1);

  // Answers with a reply the router built (a redirect, a direct response).
  void localReply(const LocalResponse& reply);

  bool responseStarted() const { return response_started; }
  // Whether the request is gRPC (by its content-type).
  bool isGrpc() const;
  // Sets the response header, with the route's response mutations applied.
  void setResponse(HeaderList fields);

  int32_t stream_id = 0;
  SnapshotPtr snapshot;  // holds the config the exchange started with
  RequestHead request;
  bool head_request = false;
  bool request_headers_too_large = false;
  // The request body is not wanted (local reply): it is consumed as it comes.
  bool discard_request_body = false;
  BodyPipe request_body;

  // From the route and listener: changes to the response header, fields to
  // add to it, and the host the request counts against while it runs.
  MutationChain response_mutations;
  HeaderList response_additions;  // e.g. set-cookie, x-request-id
  ActiveRequest active_request;
  // A place among the route's active faults (max_active_faults), held to the end.
  FaultActivity fault_activity;
  // The request's place in its cluster's circuit breaker (max_requests).
  CircuitSlot request_slot;
  bool hide_local_reply_reason = false;

  HeaderList response_fields;  // ":status" first
  bool response_started = false;
  bool answered_locally = false;  // the response is the proxy's own (localReply), for this:
  LocalReplyReason local_reason = LocalReplyReason::kNoRoute;
  BodyPipe response_body;

  // Set when the downstream stream closed or was reset; the upstream stops.
  bool downstream_closed = false;
  bool upstream_finished = false;
  // Set when the proxy ended the upstream side itself (stream idle timeout):
  // the upstream side then stops without answering or resetting the client.
  bool upstream_cancelled = false;

  ExchangeDownstream* downstream = nullptr;
  ExchangeUpstream* upstream = nullptr;
  // To an HTTP/2 cluster with a retry policy or outlier detection: the attempts so far, asked
  // by the upstream connection how to go on when one ends (http2_attempts.h).
  std::unique_ptr<Http2Attempts> attempts;
  // Wakes a coroutine that drives the upstream side (HTTP/1.1 relay): cancelled
  // on every change, it is a condition variable for one thread.
  boost::asio::steady_timer wake;
  IdleWatchLink idle_watch;

  // For the golden metrics: what the client side records when it is done with the exchange.
  // `series` gets its direction and source when the request is dispatched, its destination
  // when a cluster is chosen; metricSeries() adds the outcome.
  struct Metrics {
    std::chrono::steady_clock::time_point started;
    uint64_t request_body_bytes = 0;   // from the client
    uint64_t response_body_bytes = 0;  // to the client
    RequestSeries series;
    uint8_t broke_off = kNoResponseFlag;  // kFlagUpstreamResetAfterResponse, ...
    // For the access log (null: the chain has none; the exchange's snapshot holds it): the
    // route and cluster chosen, the endpoint of the last attempt, the retries, when the
    // upstream's response header came, and the x-request-id the proxy generated.
    const AccessLogConfig* access_log = nullptr;
    const RouteEntry* route = nullptr;
    const ClusterConfig* cluster = nullptr;
    const lb::Host* host = nullptr;
    uint32_t retries = 0;
    std::chrono::steady_clock::time_point upstream_answered{};
    std::string request_id;
    std::string_view authz_policy;  // authorizeRequest()'s logged_policy
    // The chain's tracing (null: none) and the proxy's span, once the request went on.
    const ChainTracingConfig* tracing = nullptr;
    RequestTrace trace;
  } metrics;
  // The series this exchange ends in: the status and gRPC status the client got (none when
  // no response started) and a response flag: a local reply's reason, how the response broke
  // off, or kFlagDownstreamDisconnect when the client left before the response's end.
  RequestSeries metricSeries() const;
};

using StreamExchangePtr = std::shared_ptr<StreamExchange>;

// Where and how an exchange goes upstream.
struct UpstreamTarget {
  boost::asio::ip::tcp::endpoint endpoint;
  std::string cluster_name;
  std::chrono::milliseconds connect_timeout;
  std::chrono::milliseconds route_timeout;  // 0: none
  // The cluster's connection pool settings (ConnectionPool).
  std::chrono::milliseconds pool_idle_timeout{60'000};  // 0: none
  uint32_t max_requests_per_connection = 0;             // 0: unlimited
  // With max_connections_per_host: this worker's share for the endpoint, and
  // (HTTP/1 clusters) the slots and waiting line that enforce it.
  uint32_t max_connections = 0;  // 0: unlimited
  std::shared_ptr<HostConnectionLimit> connection_limit;
  // Plaintext or TLS (and the identity required) to `endpoint`; the worker's TLS sessions.
  UpstreamTransport transport;
  TlsSessionCache* tls_sessions = nullptr;
  // The cluster's TLS settings, which a new multiplexed connection keeps (it may outlive the
  // request that opened it, and the snapshot).
  const std::shared_ptr<const UpstreamTlsConfig>* tls_owner = nullptr;
  // The cluster: its circuit breaker on connections (HTTP/1 clusters), and the count of open
  // connections the pool gauges show (both protocols).
  const ClusterConfig* cluster = nullptr;
};

}  // namespace weft::proxy
