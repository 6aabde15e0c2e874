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

namespace weft::proxy {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

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
asio::awaitable<bool> waitForChange(StreamExchange& exchange,
                                    std::chrono::steady_clock::time_point deadline) {
  exchange.wake.expires_at(deadline);
  auto [error] = co_await exchange.wake.async_wait(kUseTuple);
  co_return error == asio::error::operation_aborted;
}

LocalReplyReason reasonFor(const error_code& error) {
  return error == beast::error::timeout ? LocalReplyReason::kUpstreamTimeout
                                        : LocalReplyReason::kUpstreamReset;
}

struct SendResult {
  error_code write;
  bool timed_out = false;
  bool downstream_gone = false;
};

// Writes the request header and streams the body as the client sends it.
asio::awaitable<SendResult> sendRequest(StreamExchange& exchange, UpstreamConnection& connection,
                                        std::string_view header, bool chunked,
                                        std::chrono::steady_clock::time_point deadline) {
  SendResult result;
  // The connection's head buffer carries the header and whatever body is there.
  std::string& pending = connection.head_buffer;
  pending.assign(header);
  BodyPipe& body = exchange.request_body;
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
    if (!pending.empty()) {
      auto [error, written] =
          co_await asio::async_write(connection.stream, asio::buffer(pending), kUseTuple);
      if (error) {
        result.write = error;
        co_return result;
      }
      pending.clear();
      if (taken > 0 && exchange.downstream != nullptr) {
        exchange.downstream->requestBodyConsumed(exchange, taken);
      }
    }
    if (last) {
      co_return result;
    }
    // Wait only when nothing is left to act on. A wakeup that came while the
    // write above was in flight was lost (cancelling a timer nobody waits on
    // does nothing), so what it announced (more data, the end of the body, the
    // client gone) is checked here, not waited for.
    if (body.size() == 0 && !body.ended && !exchange.downstream_closed &&
        !co_await waitForChange(exchange, deadline)) {
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

}  // namespace

asio::awaitable<void> relayToHttp1Upstream(StreamExchangePtr exchange_ptr, ForwardingFacts facts,
                                           UpstreamTarget target, Http1ConnectionPool& pool) {
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
      std::chrono::steady_clock::now() +
      (target.route_timeout.count() > 0 ? target.route_timeout : std::chrono::hours(24 * 365));
  const BodyPipe& body = exchange.request_body;
  const bool no_body = body.ended && body.size() == 0 && body.trailers.empty();
  const bool chunked = !no_body && !exchange.request.has_content_length;
  const std::string header = http1RequestText(exchange.request, facts, chunked);

  // A retry keeps the slot of the connection that failed (connection limit):
  // giving it back would send the retry to the end of the line.
  std::shared_ptr<HostConnectionLimit> carried_slot;
  for (int attempt = 0; attempt < 2; ++attempt) {
    UpstreamConnectionPtr connection =
        attempt == 0 ? pool.take(target.endpoint, target.pool_idle_timeout,
                                 target.connection_limit.get(), target.transport.pool_key)
                     : nullptr;
    bool reused = connection != nullptr;
    if (!reused && carried_slot) {
      connection =
          std::make_unique<UpstreamConnection>(DeadlineStream(co_await asio::this_coro::executor));
      connection->limit = std::move(carried_slot);
    } else if (!reused && target.connection_limit) {
      LimitedConnection limited =
          co_await connectionWithinLimit(target.connection_limit, deadline, waker.waiting.slot());
      if (exchange.downstream_closed || exchange.upstream_cancelled) {
        // Gone while it waited: a connection handed to it goes to the next in line.
        if (limited.connection && limited.reused) {
          pool.release(target.endpoint, std::move(limited.connection));
        }
        co_return;
      }
      if (!limited.connection) {
        fail(exchange, target,
             limited.overflow ? LocalReplyReason::kUpstreamOverflow
                              : LocalReplyReason::kUpstreamTimeout,
             connectionLimitDetail(*target.connection_limit, limited.overflow));
        co_return;
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
      if (target.cluster != nullptr && !connection->circuit_slot.held() &&
          !connection->circuit_slot.tryTake(target.cluster->circuit,
                                            &ClusterCircuitCounts::open_connections,
                                            target.cluster->circuit_limits.max_connections)) {
        fail(exchange, target, LocalReplyReason::kUpstreamOverflow,
             circuitOverflowDetail(target.cluster_name,
                                   target.cluster->circuit_limits.max_connections,
                                   "connections open", "max_connections"));
        co_return;
      }
      const std::string failure =
          co_await connectUpstream(*connection, target.endpoint, target.transport,
                                   *target.tls_sessions, target.connect_timeout, deadline);
      if (!failure.empty()) {
        fail(exchange, target, LocalReplyReason::kUpstreamConnectFail, failure);
        co_return;
      }
    }
    connection->stream.expires_at(deadline);
    // Retrying is safe only when nothing of the request can have been used.
    const bool retry_allowed = reused && no_body;

    SendResult sent = co_await sendRequest(exchange, *connection, header, chunked, deadline);
    if (sent.downstream_gone) {
      co_return;
    }
    if (sent.timed_out) {
      fail(exchange, target, LocalReplyReason::kUpstreamTimeout,
           "the request body did not arrive within the route timeout");
      co_return;
    }
    if (sent.write) {
      if (retry_allowed && sent.write != beast::error::timeout) {
        carried_slot = std::exchange(connection->limit, nullptr);
        continue;
      }
      fail(exchange, target, reasonFor(sent.write),
           "sending the request upstream failed: " + sent.write.message());
      co_return;
    }

    const ResponseHeadRead head =
        co_await readFinalResponseHeader(*connection, exchange.head_request);
    std::optional<UpstreamResponseParser>& response = connection->response;
    const error_code& header_error = head.error;
    if (exchange.downstream_closed) {
      co_return;
    }
    if (header_error) {
      if (mayRetryOnFreshConnection(retry_allowed, head, *connection)) {
        carried_slot = std::exchange(connection->limit, nullptr);
        continue;
      }
      fail(exchange, target, reasonFor(header_error),
           header_error == beast::error::timeout
               ? "no response within the route timeout"
               : "reading the upstream response failed: " + header_error.message());
      co_return;
    }
    if (response->get().result_int() == 101) {
      fail(exchange, target, LocalReplyReason::kUpstreamReset,
           "the upstream switched protocols, which HTTP/2 cannot carry");
      co_return;
    }
    const bool upstream_keep_alive = response->get().keep_alive();
    const size_t header_count =
        static_cast<size_t>(std::distance(response->get().begin(), response->get().end()));
    exchange.setResponse(http2ResponseFields(response->get().base()));
    exchange.response_body.ended = response->is_done();
    if (exchange.downstream != nullptr) {
      exchange.downstream->responseHeadersReady(exchange);
    }

    const std::span<char> scratch = connection->relayBuffer();
    while (!response->is_done()) {
      while (exchange.response_body.size() >= kMaxPendingResponseBytes &&
             !exchange.downstream_closed) {
        if (!co_await waitForChange(exchange, deadline)) {
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
    co_return;
  }
}

}  // namespace weft::proxy
