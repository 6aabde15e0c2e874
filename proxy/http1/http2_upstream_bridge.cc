#include "proxy/http1/http2_upstream_bridge.h"
#include "common/text/ascii.h"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <cctype>
#include <cstdio>
#include <iterator>

#include "proxy/http1/hop_by_hop.h"
#include "proxy/http2/client_connection_pool.h"
#include "proxy/http2/stream_idle_watch.h"

namespace weft::proxy {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
// Request body bytes waiting for the HTTP/2 window before the client is read again.
constexpr size_t kMaxPendingRequestBytes = 64 * 1024;

void expireAfter(DeadlineStream& stream, std::chrono::milliseconds timeout) {
  if (timeout.count() > 0) {
    stream.expires_after(timeout);
  } else {
    stream.expires_never();
  }
}

// The exchange's downstream side for an HTTP/1.1 client: every event wakes the
// two pumps, which re-check the exchange's state (one thread: no wake-up is
// lost, since state is checked before each wait).
class Http1Downstream final : public ExchangeDownstream {
 public:
  explicit Http1Downstream(const asio::any_io_executor& executor)
      : request_signal(executor), response_signal(executor) {}

  void responseHeadersReady(StreamExchange&) override { wake(); }
  void responseDataReady(StreamExchange&) override { wake(); }
  void requestBodyConsumed(StreamExchange&, size_t) override { wake(); }
  void resetByUpstream(StreamExchange&, uint32_t) override {
    reset = true;
    wake();
  }

  void wake() {
    request_signal.cancel();
    response_signal.cancel();
  }

  asio::steady_timer request_signal;
  asio::steady_timer response_signal;
  bool reset = false;
  bool response_done = false;
};

asio::awaitable<void> waitOn(asio::steady_timer& signal) {
  signal.expires_at(asio::steady_timer::time_point::max());
  co_await signal.async_wait(kUseTuple);
}

RequestHead requestHead(const http::request<http::buffer_body>& request) {
  RequestHead head;
  head.method = std::string(request.method_string());
  head.scheme = "http";
  head.path = std::string(request.target());
  for (const auto& field : request) {
    std::string name = text::lowerCaseAscii(field.name_string());
    if (name == "host") {
      head.authority = std::string(field.value());
      continue;
    }
    head.has_content_length = head.has_content_length || name == "content-length";
    head.fields.push_back({std::move(name), std::string(field.value())});
  }
  return head;
}

// Reads the client's request body into the exchange, a bounded amount ahead of
// what the HTTP/2 stream has taken.
asio::awaitable<error_code> pumpRequest(DeadlineStream& downstream, beast::flat_buffer& buffer,
                                        RequestParser& request, StreamExchange& exchange,
                                        Http1Downstream& bridge, std::span<char> scratch,
                                        std::chrono::milliseconds idle_timeout) {
  auto& message = request.get();
  const size_t header_count = static_cast<size_t>(std::distance(message.begin(), message.end()));
  BodyPipe& pipe = exchange.request_body;
  while (!request.is_done()) {
    while (pipe.size() >= kMaxPendingRequestBytes && !bridge.response_done &&
           !exchange.discard_request_body) {
      co_await waitOn(bridge.request_signal);
    }
    if (bridge.response_done || exchange.discard_request_body) {
      co_return error_code{};  // the answer is out: the rest of the body is not wanted
    }
    auto& body = message.body();
    body.data = scratch.data();
    body.size = scratch.size();
    expireAfter(downstream, idle_timeout);
    // Some, not all: a streamed body (a gRPC-style call) moves on as it comes.
    auto [error, bytes] = co_await http::async_read_some(downstream, buffer, request, kUseTuple);
    if (error && error != http::error::need_buffer) {
      co_return error;
    }
    pipe.append(std::string_view(scratch.data(), scratch.size() - body.size));
    exchange.metrics.request_body_bytes += scratch.size() - body.size;
    if (request.is_done()) {
      size_t index = 0;
      for (const auto& field : message) {
        if (index++ >= header_count && !isForbiddenTrailer(field.name_string())) {
          pipe.trailers.push_back(
              {text::lowerCaseAscii(field.name_string()), std::string(field.value())});
        }
      }
      pipe.ended = true;
    }
    if (exchange.upstream != nullptr) {
      exchange.upstream->requestDataReady(exchange);
    }
  }
  co_return error_code{};
}

struct ResponseFraming {
  bool chunked = false;
  bool close_delimited = false;
};

// The HTTP/1.1 response header for the exchange's HTTP/2 response fields.
std::string responseHeaderText(const StreamExchange& exchange, const Http2BridgeParams& params,
                               bool keep_alive, ResponseFraming& framing) {
  unsigned status = 502;
  bool has_length = false;
  for (const HeaderField& field : exchange.response_fields) {
    if (field.name == ":status") {
      status = static_cast<unsigned>(std::atoi(field.value.c_str()));
    } else if (field.name == "content-length") {
      has_length = true;
    }
  }
  const BodyPipe& body = exchange.response_body;
  const bool bodiless = exchange.head_request || status < 200 || status == 204 || status == 304;
  std::string text = params.client_version >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ";
  text.append(std::to_string(status)).append(" ");
  text.append(http::obsolete_reason(static_cast<http::status>(status))).append("\r\n");
  for (const HeaderField& field : exchange.response_fields) {
    if (field.name.empty() || field.name[0] == ':' || isConnectionSpecific(field.name)) {
      continue;
    }
    text.append(field.name).append(": ").append(field.value).append("\r\n");
  }
  if (!bodiless && !has_length) {
    if (body.ended && body.trailers.empty()) {
      // Complete already (a small or trailers-only response): give its length.
      text.append("content-length: ").append(std::to_string(body.size())).append("\r\n");
    } else if (params.client_version >= 11) {
      framing.chunked = true;
      text.append("transfer-encoding: chunked\r\n");
    } else {
      framing.close_delimited = true;
    }
  }
  if (params.client_version >= 11 && !keep_alive) {
    text.append("connection: close\r\n");
  } else if (params.client_version < 11 && keep_alive) {
    text.append("connection: keep-alive\r\n");
  }
  text.append("\r\n");
  return text;
}

struct ResponseOutcome {
  error_code write;
  bool reset = false;  // the upstream broke off after the response started
  bool close_delimited = false;
};

// Writes the response to the client as the exchange receives it.
asio::awaitable<ResponseOutcome> pumpResponse(DeadlineStream& downstream, StreamExchange& exchange,
                                              Http1Downstream& bridge,
                                              const Http2BridgeParams& params, bool& keep_alive,
                                              std::span<char> scratch) {
  ResponseOutcome outcome;
  while (!exchange.response_started && !bridge.reset) {
    co_await waitOn(bridge.response_signal);
  }
  if (!exchange.response_started) {
    outcome.reset = true;
    co_return outcome;
  }
  ResponseFraming framing;
  if (params.draining != nullptr && *params.draining) {
    keep_alive = false;  // the drain began while this request was in flight
  }
  std::string header = responseHeaderText(exchange, params, keep_alive, framing);
  outcome.close_delimited = framing.close_delimited;
  BodyPipe& body = exchange.response_body;
  for (;;) {
    size_t taken = 0;
    if (body.size() > 0) {
      taken = body.take(reinterpret_cast<uint8_t*>(scratch.data()), scratch.size());
    }
    const bool finished = body.size() == 0 && body.ended;
    std::array<char, 24> size_line{};
    std::string last;
    std::array<asio::const_buffer, 5> pieces;
    size_t count = 0;
    if (!header.empty()) {
      pieces[count++] = asio::buffer(header);
    }
    if (taken > 0) {
      if (framing.chunked) {
        const int n = std::snprintf(size_line.data(), size_line.size(), "%zx\r\n", taken);
        pieces[count++] = asio::buffer(size_line.data(), static_cast<size_t>(n));
      }
      pieces[count++] = asio::buffer(scratch.data(), taken);
      if (framing.chunked) {
        pieces[count++] = asio::buffer("\r\n", 2);
      }
    }
    if (finished && framing.chunked) {
      last = http1LastChunk(body.trailers);
      pieces[count++] = asio::buffer(last);
    }
    if (count > 0) {
      expireAfter(downstream, params.downstream_idle_timeout);
      auto [error, written] = co_await asio::async_write(
          downstream, std::span<const asio::const_buffer>(pieces.data(), count), kUseTuple);
      if (error) {
        outcome.write = error;
        co_return outcome;
      }
      header.clear();
      exchange.metrics.response_body_bytes += taken;
      if (taken > 0 && exchange.upstream != nullptr) {
        exchange.upstream->responseBodyDrained(exchange, taken);
      }
    }
    if (finished) {
      co_return outcome;
    }
    // The end of the body may have come while the write above was in flight:
    // its wakeup found nobody waiting and is gone, so it is checked, not waited for.
    if (body.size() == 0 && !body.ended) {
      if (bridge.reset) {
        outcome.reset = true;
        co_return outcome;
      }
      co_await waitOn(bridge.response_signal);
    }
  }
}

}  // namespace

asio::awaitable<ExchangeResult> relayToHttp2Upstream(
    DeadlineStream& downstream, beast::flat_buffer& downstream_buffer, RequestParser& request,
    const Http2BridgeParams& params, Http2ClientPool& pool, std::span<char> scratch) {
  ExchangeResult result;
  const auto executor = co_await asio::this_coro::executor;
  auto exchange = std::make_shared<StreamExchange>(executor);
  exchange->request = requestHead(request.get());
  exchange->head_request = request.get().method() == http::verb::head;
  if (params.response_mutations != nullptr) {
    exchange->response_mutations = *params.response_mutations;
  }
  if (params.response_additions != nullptr) {
    exchange->response_additions = *params.response_additions;
  }
  exchange->request_body.ended = request.is_done();
  exchange->snapshot = params.snapshot;
  if (params.active != nullptr) {
    exchange->active_request = std::move(*params.active);
  }
  Http1Downstream bridge(executor);
  exchange->downstream = &bridge;
  // However this ends, the exchange must not call into the bridge again, and
  // an unfinished upstream stream is cancelled.
  struct Detach {
    StreamExchange& exchange;
    ~Detach() {
      exchange.downstream = nullptr;
      if (!exchange.upstream_finished) {
        exchange.downstream_closed = true;
        if (exchange.upstream != nullptr) {
          exchange.upstream->resetByDownstream(exchange);
        }
        exchange.wake.cancel();
      }
      exchange.downstream_closed = true;  // the stream idle watch drops it
    }
  } detach{*exchange};

  ForwardingFacts facts;  // x-forwarded-for and x-request-id are in the fields already
  facts.path = exchange->request.path;
  HeaderList fields = http2RequestFields(exchange->request, facts);
  if (Http2Attempts::wanted(params.attempts) && params.pool_owner) {
    exchange->attempts =
        std::make_unique<Http2Attempts>(params.attempts, *exchange, fields, params.target,
                                        params.settings, params.pool_owner, executor);
  }
  pool.forward(executor, exchange, fields, params.target, params.settings);
  if (params.stream_idle_timeout.count() > 0 && params.idle_watcher != nullptr) {
    params.idle_watcher->watch(*exchange, params.stream_idle_timeout, params.target.cluster_name);
  }

  bool keep_alive = params.client_keep_alive;
  const size_t half = scratch.size() / 2;
  auto request_side = [&]() -> asio::awaitable<error_code> {
    error_code error =
        co_await pumpRequest(downstream, downstream_buffer, request, *exchange, bridge,
                             scratch.first(half), params.downstream_idle_timeout);
    if (error && !bridge.response_done) {
      // The client went away mid-body: the stream is cancelled, and the
      // response side stops instead of waiting for an answer nobody reads.
      exchange->downstream_closed = true;
      if (exchange->upstream != nullptr) {
        exchange->upstream->resetByDownstream(*exchange);
      }
      bridge.reset = true;
      bridge.wake();
    }
    co_return error;
  };
  auto response_side = [&]() -> asio::awaitable<ResponseOutcome> {
    ResponseOutcome outcome = co_await pumpResponse(downstream, *exchange, bridge, params,
                                                    keep_alive, scratch.subspan(half));
    bridge.response_done = true;
    bridge.request_signal.cancel();
    if (!request.is_done()) {
      // The request pump may be blocked reading a body nobody wants now.
      error_code ignored;
      downstream.socket().cancel(ignored);
    }
    co_return outcome;
  };
  auto [request_error, response] = co_await (request_side() && response_side());
  if (params.tally != nullptr) {
    const RequestSeries outcome = exchange->metricSeries();
    params.tally->response_status = exchange->response_started ? outcome.response_code : 0;
    params.tally->grpc_status = outcome.grpc_status;
    params.tally->request_body_bytes = exchange->metrics.request_body_bytes;
    params.tally->response_body_bytes = exchange->metrics.response_body_bytes;
    params.tally->host = exchange->attempts ? exchange->attempts->host() : nullptr;
    params.tally->retries = exchange->attempts ? exchange->attempts->retries() : 0;
    params.tally->upstream_answered = exchange->metrics.upstream_answered;
    // The exchange's own local replies (connect failure, timeout, overflow) are relayed to the
    // client like responses: their reason goes with them.
    if (exchange->answered_locally) {
      params.tally->response_flag = outcome.response_flag;
    }
  }
  if (exchange->attempts) {
    exchange->attempts->exchangeEnded(*exchange);  // mirrors get their copy
  }

  if (response.write) {
    result.outcome = ExchangeResult::Outcome::kDownstreamGone;
    result.detail = "writing the response to the client failed: " + response.write.message();
    co_return result;
  }
  if (response.reset) {
    result.outcome = ExchangeResult::Outcome::kFailedDuringResponse;
    result.failure = LocalReplyReason::kUpstreamReset;
    result.detail = "the upstream HTTP/2 stream broke off during the response";
    co_return result;
  }
  result.outcome = ExchangeResult::Outcome::kRelayed;
  result.keep_alive = keep_alive && !response.close_delimited && request.is_done() &&
                      !request_error && !exchange->discard_request_body;
  co_return result;
}

}  // namespace weft::proxy
