#include "proxy/http1/upstream_exchange.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <iterator>
#include <utility>

#include "proxy/http1/buffered_parse.h"
#include "proxy/http1/hop_by_hop.h"
#include "proxy/http1/message_head_writer.h"
#include "proxy/http1/upgrade.h"
#include "proxy/http2/header_translation.h"
#include "proxy/tcp/byte_splice.h"
#include "proxy/upstream/http1_upstream_io.h"

namespace weft::proxy {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
using ResponseParser = UpstreamResponseParser;

using Clock = std::chrono::steady_clock;

// When one operation on a stream must have finished: `idle` after it starts (0:
// no limit), and never later than `latest`.
struct OpExpiry {
  std::chrono::milliseconds idle{0};
  Clock::time_point latest = Clock::time_point::max();
  // Time reads out with a timer instead of the stream's expiry, which would
  // close the socket: the client connection must stay open for the 408.
  bool keep_open = false;
};

Clock::time_point dueAt(const OpExpiry& expiry) {
  auto due = expiry.latest;
  if (expiry.idle.count() > 0) {
    due = std::min(due, Clock::now() + expiry.idle);
  }
  return due;
}

void arm(DeadlineStream& stream, const OpExpiry& expiry) {
  const auto due = dueAt(expiry);
  if (due == Clock::time_point::max()) {
    stream.expires_never();
  } else {
    stream.expires_at(due);
  }
}

// The smaller of two timeouts where 0 means none.
std::chrono::milliseconds tighter(std::chrono::milliseconds a, std::chrono::milliseconds b) {
  if (a.count() == 0) {
    return b;
  }
  return b.count() == 0 ? a : std::min(a, b);
}

struct RelayErrors {
  error_code read;
  error_code write;
  uint64_t body_bytes = 0;  // message body bytes relayed (framing excluded)
};

// Reads what has arrived of the message body into the parser's buffer, within
// `expiry`: returns once some bytes were parsed, not when the buffer is full,
// so a slowly streamed body moves on as it comes.
template <bool IsRequest>
asio::awaitable<error_code> readSome(DeadlineStream& in, beast::flat_buffer& in_buffer,
                                     http::parser<IsRequest, http::buffer_body>& parser,
                                     const OpExpiry& expiry) {
  error_code error;
  if (parseBuffered(parser, in_buffer, error)) {
    co_return error;  // no read, no timer: the bytes were there
  }
  const auto due = dueAt(expiry);
  if (!expiry.keep_open || due == Clock::time_point::max()) {
    arm(in, expiry);
    co_return co_await readSomeParsed(in, in_buffer, parser);
  }
  using namespace asio::experimental::awaitable_operators;
  in.expires_never();
  asio::steady_timer timer(co_await asio::this_coro::executor, due);
  auto outcome = co_await (readSomeParsed(in, in_buffer, parser) || timer.async_wait(kUseTuple));
  if (outcome.index() == 1) {
    co_return error_code(beast::error::timeout);
  }
  co_return std::get<0>(outcome);
}

// Moves one message from `in` to `out` through `scratch`, a piece at a time:
// the head (serialized once, appendMessageHead) leaves together with the first
// piece of body when that is already there, so a small message goes in one
// write. A chunked body is re-framed piece by piece; its trailers go on when the
// outgoing message is chunked too (Beast appends them to the header's fields,
// so they are cut from there and sent in the last chunk).
template <bool IsRequest>
asio::awaitable<RelayErrors> relayMessage(DeadlineStream& in, beast::flat_buffer& in_buffer,
                                          http::parser<IsRequest, http::buffer_body>& parser,
                                          DeadlineStream& out, std::span<char> scratch,
                                          std::string& head, const OpExpiry& in_expiry,
                                          const OpExpiry& out_expiry,
                                          RequestReplay* capture = nullptr) {
  RelayErrors errors;
  auto& message = parser.get();
  // A message done right after its head has no body (HEAD, 204, 304, length 0):
  // nothing follows the head, not even a last chunk.
  const bool has_body = !parser.is_done();
  const bool out_chunked = has_body && message.chunked();
  const bool relay_trailers = out_chunked && parser.chunked();
  const size_t header_count =
      relay_trailers ? static_cast<size_t>(std::distance(message.begin(), message.end())) : 0;
  head.clear();
  bool head_written = false;
  for (;;) {
    size_t piece = 0;
    bool trailers_follow = false;
    if (!parser.is_done()) {
      auto& body = message.body();
      body.data = scratch.data();
      body.size = scratch.size();
      const error_code read_error = co_await readSome(in, in_buffer, parser, in_expiry);
      if (read_error && read_error != http::error::need_buffer) {
        errors.read = read_error;
        co_return errors;
      }
      piece = scratch.size() - body.size;
      if (piece == 0 && !parser.is_done()) {
        continue;  // framing only (a chunk header): nothing to send yet
      }
      trailers_follow =
          relay_trailers && parser.is_done() &&
          static_cast<size_t>(std::distance(message.begin(), message.end())) > header_count;
    }
    const bool last = parser.is_done();
    std::string last_chunk;
    if (trailers_follow) {
      last_chunk = http1LastChunk(http1Trailers(message.base(), header_count));
      auto& fields = message.base();
      auto first_trailer = fields.begin();
      std::advance(first_trailer, static_cast<std::ptrdiff_t>(header_count));
      while (first_trailer != fields.end()) {
        first_trailer = fields.erase(first_trailer);
      }
    }
    std::array<asio::const_buffer, 5> buffers;
    size_t count = 0;
    if (!head_written) {
      appendMessageHead(message.base(), head);
      buffers[count++] = asio::buffer(head);
      head_written = true;
    }
    char size_line[20];
    if (piece > 0) {
      if (out_chunked) {
        buffers[count++] = chunkSizeLine(piece, size_line);
      }
      buffers[count++] = asio::const_buffer(scratch.data(), piece);
      if (out_chunked) {
        buffers[count++] = asio::const_buffer("\r\n", 2);
      }
    }
    if (last && out_chunked) {
      buffers[count++] =
          trailers_follow ? asio::buffer(last_chunk) : asio::const_buffer("0\r\n\r\n", 5);
    }
    arm(out, out_expiry);
    auto [write_error, written] = co_await asio::async_write(
        out, std::span<const asio::const_buffer>(buffers.data(), count), kUseTuple);
    if (write_error) {
      errors.write = write_error;
      co_return errors;
    }
    errors.body_bytes += piece;
    if (capture != nullptr) {
      for (size_t i = 0; i < count; ++i) {
        capture->append(static_cast<const char*>(buffers[i].data()), buffers[i].size());
      }
    }
    if (last) {
      co_return errors;
    }
  }
}

// A timeout before the route deadline was the stream idle timeout.
LocalReplyReason reasonFor(const error_code& error, Clock::time_point deadline) {
  if (error != beast::error::timeout) {
    return LocalReplyReason::kUpstreamReset;
  }
  return Clock::now() >= deadline ? LocalReplyReason::kUpstreamTimeout
                                  : LocalReplyReason::kStreamIdleTimeout;
}

// Prepares the upstream response header for the client.
void adaptResponseHeader(http::response<http::buffer_body>& header, const ExchangeParams& params,
                         bool& keep_alive) {
  removeHopByHopHeaders(header);
  keep_alive = params.client_keep_alive && !(params.draining != nullptr && *params.draining);
  if (params.client_version < 11 && header.count(http::field::transfer_encoding) != 0) {
    // An HTTP/1.0 client cannot read chunked framing: send the body raw and
    // mark its end by closing the connection.
    header.erase(http::field::transfer_encoding);
    header.erase(http::field::trailer);  // no chunked framing, no trailers
    keep_alive = false;
  }
  if (params.response_mutations != nullptr) {
    params.response_mutations->apply(header.base());
  }
  if (params.response_additions != nullptr) {
    for (const HeaderField& field : *params.response_additions) {
      header.insert(field.name, field.value);
    }
  }
  header.version(params.client_version);
  header.keep_alive(keep_alive);
}

// Relays a 101 to the client, then tunnels bytes until both sides are done.
// Bytes either side sent after its header (a client's first WebSocket frame,
// a server's greeting) were read already and go first.
asio::awaitable<ExchangeResult> tunnel(DeadlineStream& downstream,
                                       beast::flat_buffer& downstream_buffer,
                                       UpstreamConnection& upstream, ResponseParser& response,
                                       const ExchangeParams& params, std::span<char> scratch) {
  ExchangeResult result;
  result.outcome = ExchangeResult::Outcome::kRelayed;
  result.keep_alive = false;  // the connection is the tunnel's now
  auto& header = response.get();
  const std::string chosen(header[http::field::upgrade]);
  removeHopByHopHeaders(header);
  header.set(http::field::connection, "Upgrade");
  header.set(http::field::upgrade, chosen);
  if (params.tally != nullptr) {
    params.tally->response_status = 101;
  }
  RelayErrors relayed = co_await relayMessage<false>(
      upstream.stream, upstream.buffer, response, downstream, scratch, upstream.head_buffer,
      OpExpiry{params.tunnel_idle_timeout}, OpExpiry{params.downstream_idle_timeout});
  if (relayed.read || relayed.write) {
    result.outcome = ExchangeResult::Outcome::kDownstreamGone;
    result.detail = "relaying the 101 response failed";
    co_return result;
  }
  downstream.expires_never();
  upstream.stream.expires_never();
  if (downstream_buffer.size() > 0) {
    auto [error, written] =
        co_await asio::async_write(upstream.stream, downstream_buffer.data(), kUseTuple);
    if (error) {
      result.detail = "the upgraded upstream connection failed: " + error.message();
      co_return result;
    }
    downstream_buffer.consume(downstream_buffer.size());
  }
  if (upstream.buffer.size() > 0) {
    auto [error, written] =
        co_await asio::async_write(downstream, upstream.buffer.data(), kUseTuple);
    if (error) {
      result.detail = "the upgraded client connection failed: " + error.message();
      co_return result;
    }
    upstream.buffer.consume(upstream.buffer.size());
  }
  const SplicedBytes moved =
      co_await spliceBytes(downstream, upstream.stream, params.tunnel_idle_timeout);
  if (params.tally != nullptr) {  // a tunnel's bytes count as the exchange's bodies
    params.tally->request_body_bytes += moved.a_to_b;
    params.tally->response_body_bytes += moved.b_to_a;
  }
  error_code ignored;
  upstream.stream.socket().close(ignored);
  result.detail = "upgraded connection (" + chosen + ") closed";
  co_return result;
}

// How one attempt ended.
struct AttemptEnd {
  enum class Kind {
    kResponse,        // a final response header is in connection->response
    kUpstreamFailed,  // no response: `attempt` says why, `failure` is the exchange's result
    kClientFailed,    // the client broke or left: `failure` ends the exchange
  };
  Kind kind = Kind::kUpstreamFailed;
  AttemptResult attempt;
  UpstreamConnectionPtr connection;
  ExchangeResult failure;
};

// What a timeout of an attempt was: the route deadline, the attempt's own
// deadline (per-try timeout), or no byte moving (stream idle timeout).
AttemptFailure timeoutKind(Clock::time_point deadline, Clock::time_point attempt_deadline,
                           const ExchangeParams& params) {
  const auto now = Clock::now();
  if (now >= deadline) {
    return AttemptFailure::kRouteTimeout;
  }
  if (now >= attempt_deadline) {
    return AttemptFailure::kPerTryTimeout;
  }
  // No byte moved for an idle timeout: the per-try one when it is the tighter (the one that
  // fired), else the stream idle timeout, which is never retried.
  const auto per_try_idle = params.retry != nullptr ? params.retry->policy().per_try_idle_timeout
                                                    : std::chrono::milliseconds(0);
  if (per_try_idle.count() > 0 &&
      (params.stream_idle_timeout.count() == 0 || per_try_idle <= params.stream_idle_timeout)) {
    return AttemptFailure::kPerTryTimeout;
  }
  return AttemptFailure::kRouteTimeout;
}

void upstreamFailed(AttemptEnd& end, AttemptFailure failure, LocalReplyReason reason,
                    std::string detail) {
  end.kind = AttemptEnd::Kind::kUpstreamFailed;
  end.attempt.failure = failure;
  end.failure.outcome = ExchangeResult::Outcome::kFailedBeforeResponse;
  end.failure.failure = reason;
  end.failure.detail = std::move(detail);
}

// One attempt: a connection to `target` (pooled, within its limit, or new),
// the request sent (relayed from the client the first time, from the replay
// after), and the final response header read. Nothing goes to the client.
asio::awaitable<AttemptEnd> sendAttempt(DeadlineStream& downstream,
                                        beast::flat_buffer& downstream_buffer,
                                        RequestParser& request, const ExchangeParams& params,
                                        const AttemptTarget& target, Http1ConnectionPool& pool,
                                        std::span<char> scratch, Clock::time_point deadline,
                                        Clock::time_point attempt_deadline) {
  AttemptEnd end;
  const bool has_body = !request.is_done();
  RequestReplay* replay = params.replay;
  // Each read or write ends when no byte moved for the stream idle timeout; the
  // upstream side also at the attempt's deadline.
  const OpExpiry downstream_expiry{
      tighter(params.downstream_idle_timeout, params.stream_idle_timeout), Clock::time_point::max(),
      true};
  const OpExpiry upstream_expiry{
      params.retry != nullptr
          ? tighter(params.stream_idle_timeout, params.retry->policy().per_try_idle_timeout)
          : params.stream_idle_timeout,
      attempt_deadline};

  // A retry keeps the slot of the connection that failed (connection limit):
  // giving it back would send the retry to the end of the line.
  std::shared_ptr<HostConnectionLimit> carried_slot;
  for (int reuse_attempt = 0; reuse_attempt < 2; ++reuse_attempt) {
    UpstreamConnectionPtr& connection = end.connection;
    connection =
        reuse_attempt == 0
            ? pool.take(target.upstream, params.pool_idle_timeout, target.connection_limit.get(),
                        target.transport.pool_key,
                        params.cluster != nullptr ? params.cluster->circuit.get() : nullptr)
            : nullptr;
    bool reused = connection != nullptr;
    if (!reused && carried_slot) {
      connection =
          std::make_unique<UpstreamConnection>(DeadlineStream(co_await asio::this_coro::executor));
      connection->limit = std::move(carried_slot);
    } else if (!reused && target.connection_limit) {
      CircuitSlot pending;
      if (params.cluster != nullptr &&
          !pending.tryTake(params.cluster->circuit, &ClusterCircuitCounts::pending_requests,
                           params.cluster->circuit_limits.max_pending_requests)) {
        upstreamFailed(
            end, AttemptFailure::kOverflow, LocalReplyReason::kUpstreamOverflow,
            circuitOverflowDetail(params.cluster->name,
                                  params.cluster->circuit_limits.max_pending_requests,
                                  "requests waiting for a connection", "max_pending_requests"));
        co_return end;
      }
      LimitedConnection limited =
          co_await connectionWithinLimit(target.connection_limit, attempt_deadline);
      if (!limited.connection) {
        upstreamFailed(end,
                       limited.overflow ? AttemptFailure::kOverflow
                                        : timeoutKind(deadline, attempt_deadline, params),
                       limited.overflow ? LocalReplyReason::kUpstreamOverflow
                                        : LocalReplyReason::kUpstreamTimeout,
                       connectionLimitDetail(*target.connection_limit, limited.overflow));
        co_return end;
      }
      connection = std::move(limited.connection);
      reused = limited.reused;
    }
    if (!reused) {
      if (!connection) {
        connection = std::make_unique<UpstreamConnection>(
            DeadlineStream(co_await asio::this_coro::executor));
      }
      if (params.cluster != nullptr && !connection->circuit_slot.held() &&
          !connection->circuit_slot.tryTake(params.cluster->circuit,
                                            &ClusterCircuitCounts::open_connections,
                                            params.cluster->circuit_limits.max_connections)) {
        connection.reset();
        upstreamFailed(end, AttemptFailure::kOverflow, LocalReplyReason::kUpstreamOverflow,
                       circuitOverflowDetail(params.cluster->name,
                                             params.cluster->circuit_limits.max_connections,
                                             "connections open", "max_connections"));
        co_return end;
      }
      std::string failure =
          co_await connectUpstream(*connection, target.upstream, target.transport,
                                   *params.tls_sessions, params.connect_timeout, attempt_deadline);
      if (!failure.empty()) {
        connection.reset();
        upstreamFailed(end, AttemptFailure::kConnectFailure, LocalReplyReason::kUpstreamConnectFail,
                       std::move(failure));
        co_return end;
      }
    }
    const bool retry_allowed = reused && !has_body;

    // Request: header and body, client -> upstream; or the replay of both.
    RelayErrors sent;
    if (replay != nullptr && replay->complete) {
      arm(connection->stream, upstream_expiry);
      auto [write_error, written] =
          co_await asio::async_write(connection->stream, asio::buffer(replay->bytes), kUseTuple);
      sent.write = write_error;
    } else {
      if (replay != nullptr) {
        replay->started = true;
      }
      sent = co_await relayMessage<true>(downstream, downstream_buffer, request, connection->stream,
                                         scratch, connection->head_buffer, downstream_expiry,
                                         upstream_expiry, replay);
      if (params.tally != nullptr) {
        params.tally->request_body_bytes += sent.body_bytes;
      }
      if (replay != nullptr && !sent.read && !sent.write && request.is_done() &&
          !replay->overflow) {
        replay->complete = true;
      }
    }
    if (sent.read) {
      end.kind = AttemptEnd::Kind::kClientFailed;
      ExchangeResult& result = end.failure;
      if (&sent.read.category() == &http::make_error_code(http::error::bad_version).category()) {
        // The body broke HTTP/1.1 framing (bad chunk, forbidden trailer): the
        // client's fault, answered with 400; the upstream connection is dropped.
        result.failure = LocalReplyReason::kBadRequest;
        result.detail = "malformed request body: " + sent.read.message();
      } else if (sent.read == beast::error::timeout) {
        // The client stopped sending its body: 408, and the connection closes.
        result.failure = LocalReplyReason::kStreamIdleTimeout;
        result.status = 408;
        result.detail = "the request body stalled for the stream idle timeout";
      } else {
        result.outcome = ExchangeResult::Outcome::kDownstreamGone;
        result.detail = "reading the request body failed: " + sent.read.message();
      }
      connection.reset();
      co_return end;
    }
    if (sent.write) {
      if (retry_allowed && sent.write != beast::error::timeout) {
        carried_slot = std::exchange(connection->limit, nullptr);
        continue;
      }
      const bool timed_out = sent.write == beast::error::timeout;
      upstreamFailed(
          end, timed_out ? timeoutKind(deadline, attempt_deadline, params) : AttemptFailure::kReset,
          timed_out ? reasonFor(sent.write, deadline) : LocalReplyReason::kUpstreamReset,
          "sending the request upstream failed: " + sent.write.message());
      connection.reset();
      co_return end;
    }

    // Response header, skipping interim 1xx responses.
    arm(connection->stream, upstream_expiry);
    const ResponseHeadRead head =
        co_await readFinalResponseHeader(*connection, request.get().method() == http::verb::head);
    if (head.error) {
      if (mayRetryOnFreshConnection(retry_allowed, head, *connection)) {
        carried_slot = std::exchange(connection->limit, nullptr);
        continue;
      }
      const bool timed_out = head.error == beast::error::timeout;
      const LocalReplyReason reason = reasonFor(head.error, deadline);
      const AttemptFailure kind =
          timed_out ? timeoutKind(deadline, attempt_deadline, params) : AttemptFailure::kReset;
      upstreamFailed(
          end, kind, reason,
          kind == AttemptFailure::kPerTryTimeout         ? "no response within the per-try timeout"
          : reason == LocalReplyReason::kUpstreamTimeout ? "no response within the route timeout"
          : reason == LocalReplyReason::kStreamIdleTimeout
              ? "no response byte within the stream idle timeout"
              : "reading the upstream response failed: " + head.error.message());
      if (kind == AttemptFailure::kPerTryTimeout) {
        end.failure.failure = LocalReplyReason::kUpstreamTimeout;
      }
      connection.reset();
      co_return end;
    }
    end.kind = AttemptEnd::Kind::kResponse;
    end.attempt.status = connection->response->get().result_int();
    // Read before the outcome is reported: a trailers-only UNAVAILABLE counts against the host.
    end.attempt.grpc_status = headerGrpcStatus(connection->response->get());
    co_return end;
  }
  co_return end;
}

// Relays the final response whose header `connection` has read to the client,
// then pools the connection when it can serve another request. A 101 becomes a
// tunnel when the request offered that upgrade.
asio::awaitable<ExchangeResult> relayResponse(
    DeadlineStream& downstream, beast::flat_buffer& downstream_buffer,
    UpstreamConnectionPtr connection, const ExchangeParams& params, const AttemptTarget& target,
    Http1ConnectionPool& pool, std::span<char> scratch, Clock::time_point deadline,
    Clock::time_point attempt_deadline) {
  ExchangeResult result;
  UpstreamResponseParser& response = *connection->response;
  if (response.get().result_int() == 101) {
    if (!params.upgrade.empty() &&
        upgradeWasOffered(response.get()[http::field::upgrade], params.upgrade)) {
      co_return co_await tunnel(downstream, downstream_buffer, *connection, response, params,
                                scratch);
    }
    result.failure = LocalReplyReason::kUpstreamReset;
    result.detail = "the upstream switched to a protocol the request did not offer";
    co_return result;
  }
  const bool upstream_keep_alive = response.get().keep_alive();
  adaptResponseHeader(response.get(), params, result.keep_alive);
  if (params.tally != nullptr) {
    params.tally->response_status = response.get().result_int();
    params.tally->grpc_status = headerGrpcStatus(response.get());
    params.tally->host = target.host;
    params.tally->upstream_answered = std::chrono::steady_clock::now();
  }

  // Response: header and body, upstream -> client.
  const OpExpiry downstream_expiry{
      tighter(params.downstream_idle_timeout, params.stream_idle_timeout), Clock::time_point::max(),
      true};
  // The per-try idle timeout goes on bounding the attempt while its response body streams.
  const OpExpiry upstream_expiry{
      params.retry != nullptr
          ? tighter(params.stream_idle_timeout, params.retry->policy().per_try_idle_timeout)
          : params.stream_idle_timeout,
      attempt_deadline};
  RelayErrors relayed = co_await relayMessage<false>(
      connection->stream, connection->buffer, response, downstream, scratch,
      connection->head_buffer, upstream_expiry, downstream_expiry);
  if (params.tally != nullptr) {
    params.tally->response_body_bytes += relayed.body_bytes;
  }
  if (relayed.write) {
    result.outcome = ExchangeResult::Outcome::kDownstreamGone;
    result.detail = "writing the response to the client failed: " + relayed.write.message();
    co_return result;
  }
  if (relayed.read) {
    result.outcome = ExchangeResult::Outcome::kFailedDuringResponse;
    result.failure = reasonFor(relayed.read, deadline);
    result.detail = "the upstream response broke off: " + relayed.read.message();
    co_return result;
  }
  result.outcome = ExchangeResult::Outcome::kRelayed;
  // Bytes after a complete response were never asked for: do not reuse then.
  ++connection->requests;
  const bool spent = params.max_requests_per_connection != 0 &&
                     connection->requests >= params.max_requests_per_connection;
  if (upstream_keep_alive && !spent && response.is_done() && connection->buffer.size() == 0) {
    pool.release(target.upstream, std::move(connection));
  }
  co_return result;
}

asio::awaitable<void> waitFor(std::chrono::milliseconds wait) {
  asio::steady_timer timer(co_await asio::this_coro::executor, wait);
  co_await timer.async_wait(kUseTuple);
}

}  // namespace

asio::awaitable<ExchangeResult> relayExchange(DeadlineStream& downstream,
                                              beast::flat_buffer& downstream_buffer,
                                              RequestParser& request, const ExchangeParams& params,
                                              Http1ConnectionPool& pool, std::span<char> scratch) {
  const auto deadline =
      Clock::now() +
      (params.route_timeout.count() > 0 ? params.route_timeout : std::chrono::hours(24 * 365));
  UpstreamRetry* const retry = params.retry;
  const AttemptTarget* target = &params.target;
  AttemptEnd end;
  auto attempt_deadline = deadline;
  for (;;) {
    if (retry != nullptr && retry->policy().per_try_timeout.count() > 0) {
      attempt_deadline = std::min(deadline, Clock::now() + retry->policy().per_try_timeout);
    }
    end = co_await sendAttempt(downstream, downstream_buffer, request, params, *target, pool,
                               scratch, deadline, attempt_deadline);
    if (end.kind == AttemptEnd::Kind::kClientFailed) {
      co_return std::move(end.failure);
    }
    if (params.outlier != nullptr && target->host != nullptr) {
      params.outlier->report(*target->host, end.attempt, Clock::now());
    }
    if (retry == nullptr) {
      break;
    }
    const RetryDecision decision =
        retryAfterAttempt(*retry, end.attempt,
                          end.kind == AttemptEnd::Kind::kResponse ? end.connection.get() : nullptr);
    if (!decision.retry) {
      if (end.kind == AttemptEnd::Kind::kUpstreamFailed) {
        end.failure.detail += retry->note(decision.refused);
        co_return std::move(end.failure);
      }
      break;  // the response goes to the client as it is
    }
    end.connection.reset();  // a retried response is dropped with its connection
    target = &retry->target();
    if (decision.wait.count() > 0) {
      co_await waitFor(decision.wait);
    }
  }
  if (end.kind == AttemptEnd::Kind::kUpstreamFailed) {
    co_return std::move(end.failure);
  }
  co_return co_await relayResponse(downstream, downstream_buffer, std::move(end.connection), params,
                                   *target, pool, scratch, deadline, attempt_deadline);
}

}  // namespace weft::proxy
