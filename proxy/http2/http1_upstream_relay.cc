#include "proxy/http2/http1_upstream_relay.h"
#include "proxy/http1/buffered_parse.h"
#include "proxy/http1/message_head_writer.h"

#include <nghttp2/nghttp2.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <utility>
// GCC 12 with -fsanitize=address, once the parser's read is inlined here, warns
// that boost::optional in Beast's content_length() may be used uninitialized:
// a false positive in Boost's code (see decision 8 for others like it).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#pragma GCC diagnostic pop
#include <iterator>

#include "common/log/logger.h"
#include "proxy/router/route_decision.h"
#include "proxy/upstream/http1_upstream_io.h"
#include "proxy/upstream/upstream_retry.h"

namespace weft::proxy {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
// Response bytes waiting for the client before the relay stops reading.
constexpr size_t kMaxPendingResponseBytes = 64 * 1024;
constexpr size_t kMaxRequestPieceBytes = 64 * 1024;

spdlog::logger& relayLog() {
  static spdlog::logger& logger = weft::log::logger("http2");
  return logger;
}

// Wakes the relay coroutine on every change the downstream reports; a reset
// also cancels what the relay waits for on its upstream connection.
class WakeOnChange final : public ExchangeUpstream {
 public:
  void requestDataReady(StreamExchange& exchange) override { exchange.wake.cancel(); }
  void responseBodyDrained(StreamExchange& exchange, size_t) override { exchange.wake.cancel(); }
  void resetByDownstream(StreamExchange& exchange) override {
    if (connection != nullptr) {
      connection->stream.cancel();
    }
    // A request waiting for a connection (max_connections_per_host) leaves the line.
    waiting.emit(asio::cancellation_type::all);
    exchange.wake.cancel();
  }

  UpstreamConnection* connection = nullptr;  // the one in use
  asio::cancellation_signal waiting;
};

// Waits for a change on the exchange; false when `deadline` passed first.
asio::awaitable<bool> waitForChange(StreamExchange& exchange, Clock::time_point deadline) {
  exchange.wake.expires_at(deadline);
  auto [error] = co_await exchange.wake.async_wait(kUseTuple);
  co_return error == asio::error::operation_aborted;
}

LocalReplyReason reasonFor(const error_code& error) {
  return error == beast::error::timeout ? LocalReplyReason::kUpstreamTimeout
                                        : LocalReplyReason::kUpstreamReset;
}

// An attempt's time limits: the request's (route timeout), the attempt's own (per-try
// timeout, within the route's), and how long an upstream read or write may go without a byte
// (per-try idle timeout; 0: no limit). As in Envoy, the per-try timeout starts once the client
// has sent its whole request: a slow upload is the client's pace, not the attempt's.
struct AttemptClock {
  Clock::time_point route;
  Clock::time_point attempt;  // the route deadline until the per-try timeout starts
  std::chrono::milliseconds per_try{0};
  std::chrono::milliseconds per_try_idle{0};
  bool per_try_started = false;

  // A new attempt: its per-try timeout starts now when the request is complete, else later.
  void newAttempt(bool request_complete) {
    attempt = route;
    per_try_started = false;
    if (request_complete) {
      startPerTry();
    }
  }
  // The client has sent the whole request.
  void startPerTry() {
    if (!per_try_started && per_try.count() > 0) {
      attempt = std::min(route, Clock::now() + per_try);
    }
    per_try_started = true;
  }

  // The expiry of an upstream read or write that starts now.
  Clock::time_point nextOperation() const {
    return per_try_idle.count() > 0 ? std::min(attempt, Clock::now() + per_try_idle) : attempt;
  }
  // What an upstream timeout was: the route's deadline, or the attempt's own limits.
  AttemptFailure timedOut() const {
    return Clock::now() >= route ? AttemptFailure::kRouteTimeout : AttemptFailure::kPerTryTimeout;
  }
};

struct SendResult {
  error_code write;
  bool timed_out = false;
  bool downstream_gone = false;
};

// Writes the request header and streams the body as the client sends it; with `replay`, what
// goes upstream is kept there for another attempt or a mirror.
asio::awaitable<SendResult> sendRequest(StreamExchange& exchange, UpstreamConnection& connection,
                                        std::string_view header, bool chunked, AttemptClock& clock,
                                        RequestReplay* replay) {
  SendResult result;
  // The connection's head buffer carries the header and whatever body is there.
  std::string& pending = connection.head_buffer;
  pending.assign(header);
  BodyPipe& body = exchange.request_body;
  if (replay != nullptr) {
    replay->reset();  // a copy from an attempt that broke off is no use: this one starts over
  }
  for (;;) {
    if (exchange.downstream_closed) {
      result.downstream_gone = true;
      co_return result;
    }
    size_t taken = 0;
    if (body.size() > 0) {
      const std::string_view piece = body.peek().substr(0, kMaxRequestPieceBytes);
      taken = piece.size();
      if (chunked) {
        char size_line[20];
        const asio::const_buffer line = chunkSizeLine(piece.size(), size_line);
        pending.append(static_cast<const char*>(line.data()), line.size())
            .append(piece)
            .append("\r\n");
      } else {
        pending.append(piece);
      }
      body.drop(taken);
    }
    const bool last = body.size() == 0 && body.ended;
    if (last && chunked) {
      pending.append(http1LastChunk(body.trailers));
    }
    if (last) {
      clock.startPerTry();
    }
    if (!pending.empty()) {
      if (replay != nullptr) {
        replay->started = true;
        replay->append(pending.data(), pending.size());
        // Whole once the last piece is in: a write that fails may still be replayed.
        replay->complete = last && !replay->overflow;
      }
      connection.stream.expires_at(clock.nextOperation());
      auto [error, written] =
          co_await asio::async_write(connection.stream, asio::buffer(pending), kUseTuple);
      if (error) {
        // The bytes left the pipe: the client's window gets them back either way.
        if (taken > 0 && exchange.downstream != nullptr) {
          exchange.downstream->requestBodyConsumed(exchange, taken);
        }
        result.write = error;
        co_return result;
      }
      pending.clear();
      if (taken > 0 && exchange.downstream != nullptr) {
        exchange.downstream->requestBodyConsumed(exchange, taken);
      }
    }
    if (last) {
      if (replay != nullptr && !replay->overflow) {
        replay->complete = true;
      }
      co_return result;
    }
    // Wait only when nothing is left to act on. A wakeup that came while the
    // write above was in flight was lost (cancelling a timer nobody waits on
    // does nothing), so what it announced (more data, the end of the body, the
    // client gone) is checked here, not waited for. The client's pace is bounded by the route
    // timeout only: it is not the upstream attempt's fault.
    if (body.size() == 0 && !body.ended && !exchange.downstream_closed &&
        !co_await waitForChange(exchange, clock.route)) {
      result.timed_out = true;
      co_return result;
    }
  }
}

// Fails the exchange: a local reply before the response started, a reset after.
void fail(StreamExchange& exchange, const UpstreamTarget& target, LocalReplyReason reason,
          const std::string& detail) {
  if (exchange.upstream_cancelled) {
    return;  // the proxy ended this exchange itself and has answered already
  }
  relayLog().info("{} {}: cluster {}: {}", exchange.request.method, exchange.request.path,
                  target.cluster_name, detail);
  if (!exchange.response_started) {
    exchange.localReply(reason, failureStatus(reason),
                        "cluster '" + target.cluster_name + "': " + detail);
  } else if (exchange.downstream != nullptr) {
    exchange.downstream->resetByUpstream(exchange, NGHTTP2_INTERNAL_ERROR);
  }
}

// How one attempt ended.
struct AttemptEnd {
  enum class Kind {
    kResponse,        // a final response header is in connection->response
    kUpstreamFailed,  // no response: `attempt` says why, `reason` and `detail` answer the client
    kOver,            // the client left or the proxy answered: nothing more to do
  };
  Kind kind = Kind::kUpstreamFailed;
  AttemptResult attempt;
  LocalReplyReason reason = LocalReplyReason::kUpstreamReset;
  std::string detail;
  UpstreamConnectionPtr connection;
};

void upstreamFailed(AttemptEnd& end, AttemptFailure failure, LocalReplyReason reason,
                    std::string detail) {
  end.kind = AttemptEnd::Kind::kUpstreamFailed;
  end.attempt.failure = failure;
  end.reason = reason;
  end.detail = std::move(detail);
}

// The request as it goes upstream on every attempt.
struct RequestText {
  std::string header;
  bool chunked = false;
  bool no_body = false;
};

// One attempt: a connection to `target` (pooled, within its limit, or new), the request sent
// (relayed from the client, or from `replay` once it holds the whole request), and the final
// response header read. Nothing goes to the client.
asio::awaitable<AttemptEnd> sendAttempt(StreamExchange& exchange, WakeOnChange& waker,
                                        const UpstreamTarget& target, Http1ConnectionPool& pool,
                                        const RequestText& request, RequestReplay* replay,
                                        AttemptClock& clock) {
  AttemptEnd end;
  UpstreamConnectionPtr& connection = end.connection;
  const ClusterConfig* cluster = target.cluster;
  // A retry on a fresh connection keeps the slot of the connection that failed (connection
  // limit): giving it back would send the retry to the end of the line.
  std::shared_ptr<HostConnectionLimit> carried_slot;
  for (int reuse_attempt = 0; reuse_attempt < 2; ++reuse_attempt) {
    waker.connection = nullptr;
    connection = reuse_attempt == 0
                     ? pool.take(target.endpoint, target.pool_idle_timeout,
                                 target.connection_limit.get(), target.transport.pool_key,
                                 cluster != nullptr ? cluster->circuit.get() : nullptr)
                     : nullptr;
    bool reused = connection != nullptr;
    if (!reused && carried_slot) {
      connection =
          std::make_unique<UpstreamConnection>(DeadlineStream(co_await asio::this_coro::executor));
      connection->limit = std::move(carried_slot);
    } else if (!reused && target.connection_limit) {
      CircuitSlot pending;
      if (cluster != nullptr &&
          !pending.tryTake(cluster->circuit, &ClusterCircuitCounts::pending_requests,
                           cluster->circuit_limits.max_pending_requests)) {
        upstreamFailed(
            end, AttemptFailure::kOverflow, LocalReplyReason::kUpstreamOverflow,
            circuitOverflowDetail(cluster->name, cluster->circuit_limits.max_pending_requests,
                                  "requests waiting for a connection", "max_pending_requests"));
        co_return end;
      }
      LimitedConnection limited = co_await connectionWithinLimit(
          target.connection_limit, clock.attempt, waker.waiting.slot());
      if (exchange.downstream_closed || exchange.upstream_cancelled) {
        // Gone while it waited: a connection handed to it goes to the next in line.
        if (limited.connection && limited.reused) {
          pool.release(target.endpoint, std::move(limited.connection));
        }
        end.kind = AttemptEnd::Kind::kOver;
        co_return end;
      }
      if (!limited.connection) {
        // The line is the proxy's own limit: its wait never counts against the host.
        upstreamFailed(end,
                       limited.overflow || Clock::now() < clock.route
                           ? AttemptFailure::kOverflow
                           : AttemptFailure::kRouteTimeout,
                       limited.overflow ? LocalReplyReason::kUpstreamOverflow
                                        : LocalReplyReason::kUpstreamTimeout,
                       connectionLimitDetail(*target.connection_limit, limited.overflow));
        co_return end;
      }
      connection = std::move(limited.connection);
      reused = limited.reused;
    }
    if (!connection) {
      connection =
          std::make_unique<UpstreamConnection>(DeadlineStream(co_await asio::this_coro::executor));
    }
    waker.connection = connection.get();
    if (!reused) {
      if (cluster != nullptr && !connection->circuit_slot.held() &&
          !connection->circuit_slot.tryTake(cluster->circuit,
                                            &ClusterCircuitCounts::open_connections,
                                            cluster->circuit_limits.max_connections)) {
        waker.connection = nullptr;
        connection.reset();
        upstreamFailed(end, AttemptFailure::kOverflow, LocalReplyReason::kUpstreamOverflow,
                       circuitOverflowDetail(cluster->name, cluster->circuit_limits.max_connections,
                                             "connections open", "max_connections"));
        co_return end;
      }
      std::string failure =
          co_await connectUpstream(*connection, target.endpoint, target.transport,
                                   *target.tls_sessions, target.connect_timeout, clock.attempt);
      if (exchange.downstream_closed || exchange.upstream_cancelled) {
        end.kind = AttemptEnd::Kind::kOver;
        co_return end;
      }
      if (!failure.empty()) {
        waker.connection = nullptr;
        connection.reset();
        upstreamFailed(end, AttemptFailure::kConnectFailure, LocalReplyReason::kUpstreamConnectFail,
                       std::move(failure));
        co_return end;
      }
    }
    // A stale keep-alive connection is replaced only when nothing of the request can have
    // been used.
    const bool retry_allowed =
        reused && (request.no_body || (replay != nullptr && replay->complete));

    SendResult sent;
    if (replay != nullptr && replay->complete) {
      connection->stream.expires_at(clock.nextOperation());
      auto [error, written] =
          co_await asio::async_write(connection->stream, asio::buffer(replay->bytes), kUseTuple);
      sent.write = error;
      sent.downstream_gone = exchange.downstream_closed;
    } else {
      sent = co_await sendRequest(exchange, *connection, request.header, request.chunked, clock,
                                  replay);
    }
    // A client that left while a write was in flight cancelled it: not the host's failure.
    if (sent.downstream_gone || exchange.downstream_closed || exchange.upstream_cancelled) {
      end.kind = AttemptEnd::Kind::kOver;
      co_return end;
    }
    if (sent.timed_out) {
      waker.connection = nullptr;
      connection.reset();
      upstreamFailed(end, AttemptFailure::kRouteTimeout, LocalReplyReason::kUpstreamTimeout,
                     "the request body did not arrive within the route timeout");
      co_return end;
    }
    if (sent.write) {
      if (retry_allowed && sent.write != beast::error::timeout) {
        carried_slot = std::exchange(connection->limit, nullptr);
        continue;
      }
      const bool timed_out = sent.write == beast::error::timeout;
      waker.connection = nullptr;
      connection.reset();
      upstreamFailed(end, timed_out ? clock.timedOut() : AttemptFailure::kReset,
                     reasonFor(sent.write),
                     "sending the request upstream failed: " + sent.write.message());
      co_return end;
    }

    connection->stream.expires_at(clock.nextOperation());
    const ResponseHeadRead head =
        co_await readFinalResponseHeader(*connection, exchange.head_request);
    if (exchange.downstream_closed || exchange.upstream_cancelled) {
      end.kind = AttemptEnd::Kind::kOver;
      co_return end;
    }
    if (head.error) {
      if (mayRetryOnFreshConnection(retry_allowed, head, *connection)) {
        carried_slot = std::exchange(connection->limit, nullptr);
        continue;
      }
      waker.connection = nullptr;
      connection.reset();
      if (head.error == beast::error::timeout) {
        const AttemptFailure kind = clock.timedOut();
        upstreamFailed(end, kind, LocalReplyReason::kUpstreamTimeout,
                       kind == AttemptFailure::kPerTryTimeout
                           ? "no response within the per-try timeout"
                           : "no response within the route timeout");
      } else {
        upstreamFailed(end, AttemptFailure::kReset, LocalReplyReason::kUpstreamReset,
                       "reading the upstream response failed: " + head.error.message());
      }
      co_return end;
    }
    end.kind = AttemptEnd::Kind::kResponse;
    const auto& response = connection->response->get();
    end.attempt.status = response.result_int();
    end.attempt.grpc_status = headerGrpcStatus(response);
    co_return end;
  }
  co_return end;
}

// Waits out a retry's backoff; false when the client left or the proxy answered meanwhile.
asio::awaitable<bool> backoff(StreamExchange& exchange, Clock::time_point until) {
  // The backoff is the proxy's wait, not the stream being idle.
  exchange.idle_watch.last_change = Clock::now();
  while (Clock::now() < until && !exchange.downstream_closed && !exchange.upstream_cancelled) {
    co_await waitForChange(exchange, until);
  }
  co_return !exchange.downstream_closed && !exchange.upstream_cancelled;
}

// Relays the final response whose header `connection` has read into the exchange, then pools
// the connection when it can serve another request.
asio::awaitable<void> relayResponse(StreamExchange& exchange, WakeOnChange& waker,
                                    UpstreamConnectionPtr connection, const UpstreamTarget& target,
                                    Http1ConnectionPool& pool, const AttemptClock& clock) {
  std::optional<UpstreamResponseParser>& response = connection->response;
  if (response->get().result_int() == 101) {
    fail(exchange, target, LocalReplyReason::kUpstreamReset,
         "the upstream switched protocols, which HTTP/2 cannot carry");
    co_return;
  }
  const bool upstream_keep_alive = response->get().keep_alive();
  const size_t header_count =
      static_cast<size_t>(std::distance(response->get().begin(), response->get().end()));
  exchange.metrics.upstream_answered = std::chrono::steady_clock::now();
  exchange.setResponse(http2ResponseFields(response->get().base()));
  exchange.response_body.ended = response->is_done();
  if (exchange.downstream != nullptr) {
    exchange.downstream->responseHeadersReady(exchange);
  }

  const std::span<char> scratch = connection->relayBuffer();
  while (!response->is_done()) {
    while (exchange.response_body.size() >= kMaxPendingResponseBytes &&
           !exchange.downstream_closed) {
      if (!co_await waitForChange(exchange, clock.route)) {
        fail(exchange, target, LocalReplyReason::kUpstreamTimeout,
             "the client did not read the response within the route timeout");
        co_return;
      }
    }
    if (exchange.downstream_closed) {
      co_return;  // the connection is dropped: its response is half read
    }
    auto& piece = response->get().body();
    piece.data = scratch.data();
    piece.size = scratch.size();
    connection->stream.expires_at(clock.nextOperation());
    const error_code error =
        co_await readSomeParsed(connection->stream, connection->buffer, *response);
    if (error && error != http::error::need_buffer) {
      fail(exchange, target, reasonFor(error),
           "the upstream response broke off: " + error.message());
      co_return;
    }
    if (exchange.downstream_closed) {
      co_return;
    }
    exchange.response_body.append(std::string_view(scratch.data(), scratch.size() - piece.size));
    if (response->is_done()) {
      exchange.response_body.trailers = http1Trailers(response->get(), header_count);
      exchange.response_body.ended = true;
    }
    if (exchange.downstream != nullptr) {
      exchange.downstream->responseDataReady(exchange);
    }
  }
  exchange.upstream_finished = true;
  waker.connection = nullptr;
  ++connection->requests;
  const bool spent = target.max_requests_per_connection != 0 &&
                     connection->requests >= target.max_requests_per_connection;
  if (upstream_keep_alive && !spent && connection->buffer.size() == 0) {
    pool.release(target.endpoint, std::move(connection));
  }
}

}  // namespace

asio::awaitable<void> relayToHttp1Upstream(StreamExchangePtr exchange_ptr, Http1RelayParams params,
                                           Http1ConnectionPool& pool) {
  StreamExchange& exchange = *exchange_ptr;
  WakeOnChange waker;
  exchange.upstream = &waker;
  struct Detach {
    StreamExchange& exchange;
    WakeOnChange& waker;
    ~Detach() {
      exchange.upstream = nullptr;
      waker.connection = nullptr;
    }
  } detach{exchange, waker};

  const auto deadline =
      Clock::now() + (params.target.route_timeout.count() > 0 ? params.target.route_timeout
                                                              : std::chrono::hours(24 * 365));
  const BodyPipe& body = exchange.request_body;
  RequestText request;
  request.no_body = body.ended && body.size() == 0 && body.trailers.empty();
  request.chunked = !request.no_body && !exchange.request.has_content_length;
  request.header = http1RequestText(exchange.request, params.facts, request.chunked);

  UpstreamTarget& target = params.target;
  // The request as it went upstream, kept for retries and mirrors.
  RequestReplay replay;
  const bool keep_request = params.retry_policy != nullptr || params.mirrors.count > 0;
  std::optional<UpstreamRetry> retry;
  if (params.retry_policy != nullptr && target.cluster != nullptr) {
    retry.emplace(*params.retry_policy, *target.cluster, params.worker_index, params.host,
                  params.hash, exchange.active_request, replay, deadline);
  }
  AttemptClock clock{deadline, deadline};
  if (retry) {
    clock.per_try = retry->policy().per_try_timeout;
    clock.per_try_idle = retry->policy().per_try_idle_timeout;
  }
  lb::Host* host = params.host;
  AttemptEnd end;
  for (;;) {
    clock.newAttempt(request.no_body || replay.complete || exchange.request_body.ended);
    end = co_await sendAttempt(exchange, waker, target, pool, request,
                               keep_request ? &replay : nullptr, clock);
    if (end.kind == AttemptEnd::Kind::kOver) {
      break;
    }
    if (params.outlier != nullptr && host != nullptr) {
      params.outlier->report(*host, end.attempt, Clock::now());
    }
    if (!retry) {
      break;
    }
    const RetryDecision decision =
        retryAfterAttempt(*retry, end.attempt,
                          end.kind == AttemptEnd::Kind::kResponse ? end.connection.get() : nullptr);
    if (!decision.retry) {
      if (end.kind == AttemptEnd::Kind::kUpstreamFailed) {
        end.detail += retry->note(decision.refused);
      }
      break;  // a response goes to the client as it is
    }
    waker.connection = nullptr;
    end.connection.reset();  // a retried response is dropped with its connection
    const AttemptTarget& next = retry->target();
    host = next.host;
    exchange.metrics.host = host;
    exchange.metrics.retries = retry->state().retries();
    if (host != nullptr) {
      exchange.metrics.series.destination =
          target.cluster->metricDestination(exchange.metrics.series.direction, host);
    }
    target.endpoint = next.upstream;
    target.transport = next.transport;
    target.connection_limit = next.connection_limit;
    if (decision.wait.count() > 0 && !co_await backoff(exchange, Clock::now() + decision.wait)) {
      retry->state().retryNotSent();
      end.kind = AttemptEnd::Kind::kOver;
      break;
    }
  }
  if (end.kind == AttemptEnd::Kind::kUpstreamFailed) {
    fail(exchange, target, end.reason, end.detail);
  } else if (end.kind == AttemptEnd::Kind::kResponse) {
    co_await relayResponse(exchange, waker, std::move(end.connection), target, pool, clock);
  }
  if (params.mirrors.count > 0) {
    // Not in the braced list below: GCC 12 mishandles a co_await inside an aggregate's
    // initializer (it destroys temporaries of the list twice).
    const asio::any_io_executor executor = co_await asio::this_coro::executor;
    sendMirrors(params.mirrors, KeptRequest{nullptr, replay.bytes, replay.complete},
                MirrorWorker{executor, exchange.snapshot, params.worker_index, target.tls_sessions,
                             params.http2_pool});
  }
}

}  // namespace weft::proxy
