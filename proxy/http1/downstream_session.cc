#include "proxy/http1/downstream_session.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>

#include "common/log/logger.h"
#include "proxy/http1/local_reply.h"

namespace weft::proxy {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
// Bodies are buffered in this first version; the bound keeps memory finite.
constexpr uint64_t kMaxBufferedBody = 8 * 1024 * 1024;
constexpr uint32_t kMaxUpstreamHeaderBytes = 60 * 1024;
constexpr size_t kMaxForwardedForBytes = 16 * 1024;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

spdlog::logger& sessionLog() {
  static spdlog::logger& logger = weft::log::logger("http1");
  return logger;
}

// Hop-by-hop headers (RFC 9110 section 7.6.1) belong to one connection and are
// never forwarded, nor are the headers named in Connection.
template <bool IsRequest>
void removeHopByHopHeaders(http::message<IsRequest, http::string_body>& message) {
  std::vector<std::string> named;
  for (auto token : http::token_list{message[http::field::connection]}) {
    named.emplace_back(token);
  }
  for (const std::string& name : named) {
    message.erase(name);
  }
  for (http::field field :
       {http::field::connection, http::field::keep_alive, http::field::proxy_connection,
        http::field::te, http::field::trailer, http::field::upgrade,
        http::field::proxy_authenticate, http::field::proxy_authorization}) {
    message.erase(field);
  }
  // Transfer-Encoding is hop-by-hop too; prepare_payload() re-frames the body.
  message.erase(http::field::transfer_encoding);
}

std::string requestId(WorkerContext& worker) {
  char text[40];
  std::snprintf(text, sizeof(text), "%08x-%016llx", worker.worker_index,
                static_cast<unsigned long long>(++worker.next_request_id));
  return text;
}

struct UpstreamPick {
  const ClusterConfig* cluster = nullptr;
  const UpstreamEndpoint* endpoint = nullptr;  // null when the cluster has no endpoints
};

UpstreamPick pickUpstream(const RouteEntry& route, WorkerContext& worker) {
  // Weighted choice of cluster, then weighted round robin over its endpoints,
  // both driven by the worker's cursor (no shared state, no locks).
  const uint64_t ticket = worker.round_robin_cursor++;
  const ClusterConfig* cluster = route.clusters.front().cluster;
  if (route.clusters.size() > 1) {
    uint64_t point = route.picker.point(ticket);
    for (const WeightedClusterRef& candidate : route.clusters) {
      if (point < candidate.weight) {
        cluster = candidate.cluster;
        break;
      }
      point -= candidate.weight;
    }
  }
  if (cluster->endpoints.empty()) {
    return {cluster, nullptr};
  }
  uint64_t point = cluster->picker.point(ticket);
  for (const UpstreamEndpoint& endpoint : cluster->endpoints) {
    if (point < endpoint.weight) {
      return {cluster, &endpoint};
    }
    point -= endpoint.weight;
  }
  return {cluster, &cluster->endpoints.front()};
}

struct ForwardResult {
  std::optional<Response> response;
  LocalReplyReason failure = LocalReplyReason::kUpstreamReset;
  std::string detail;
};

enum class ExchangeStatus { kDone, kRetryOnFreshConnection, kFailed };

// One request/response exchange on one upstream connection. A reused connection
// that fails before any byte of a response arrived was closed by the upstream
// while idle; the request did not reach the application, so it is retried once on
// a fresh connection.
asio::awaitable<ExchangeStatus> exchange(beast::tcp_stream& upstream, bool reused, Request& request,
                                         ForwardResult& result, bool& reusable) {
  auto [write_error, written] = co_await http::async_write(upstream, request, kUseTuple);
  if (write_error) {
    if (reused && write_error != beast::error::timeout) {
      co_return ExchangeStatus::kRetryOnFreshConnection;
    }
    result.failure = write_error == beast::error::timeout ? LocalReplyReason::kUpstreamTimeout
                                                          : LocalReplyReason::kUpstreamReset;
    result.detail = "sending the request upstream failed: " + write_error.message();
    co_return ExchangeStatus::kFailed;
  }
  beast::flat_buffer buffer;
  for (;;) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxBufferedBody);
    parser.header_limit(kMaxUpstreamHeaderBytes);
    if (request.method() == http::verb::head) {
      parser.skip(true);
    }
    auto [read_error, read] = co_await http::async_read(upstream, buffer, parser, kUseTuple);
    if (read_error) {
      if (reused && !parser.got_some() && buffer.size() == 0 &&
          read_error != beast::error::timeout) {
        co_return ExchangeStatus::kRetryOnFreshConnection;
      }
      result.failure = read_error == beast::error::timeout ? LocalReplyReason::kUpstreamTimeout
                                                           : LocalReplyReason::kUpstreamReset;
      result.detail = read_error == beast::error::timeout
                          ? "no response within the route timeout"
                          : "reading the upstream response failed: " + read_error.message();
      co_return ExchangeStatus::kFailed;
    }
    const unsigned status = parser.get().result_int();
    if (status == 101) {
      result.failure = LocalReplyReason::kUpstreamReset;
      result.detail = "the upstream switched protocols, which this version does not proxy";
      co_return ExchangeStatus::kFailed;
    }
    if (status >= 200) {
      // Bytes after a complete response were never asked for: do not reuse.
      reusable = parser.get().keep_alive() && buffer.size() == 0;
      result.response = parser.release();
      co_return ExchangeStatus::kDone;
    }
    // An interim 1xx (100 Continue, 103 Early Hints) precedes the final response;
    // the request body has been sent already, so it carries nothing for the client.
  }
}

asio::awaitable<ForwardResult> forward(Request& request, const UpstreamEndpoint& endpoint,
                                       std::chrono::milliseconds connect_timeout,
                                       std::chrono::milliseconds route_timeout,
                                       Http1ConnectionPool& pool) {
  ForwardResult result;
  const auto now = std::chrono::steady_clock::now();
  const auto deadline = now + (route_timeout.count() > 0 ? route_timeout : std::chrono::hours(24));
  // Upstream connections speak HTTP/1.1 with keep-alive whatever the client spoke.
  request.version(11);
  request.keep_alive(true);
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<beast::tcp_stream> upstream =
        attempt == 0 ? pool.take(endpoint.address) : nullptr;
    const bool reused = upstream != nullptr;
    if (!reused) {
      upstream = std::make_unique<beast::tcp_stream>(co_await asio::this_coro::executor);
      upstream->expires_at(std::min(deadline, std::chrono::steady_clock::now() + connect_timeout));
      auto [connect_error] = co_await upstream->async_connect(endpoint.address, kUseTuple);
      if (connect_error) {
        result.failure = LocalReplyReason::kUpstreamConnectFail;
        result.detail = "connecting to " + endpoint.address.address().to_string() + ":" +
                        std::to_string(endpoint.address.port()) +
                        " failed: " + connect_error.message();
        co_return result;
      }
      error_code ignored;
      upstream->socket().set_option(asio::ip::tcp::no_delay(true), ignored);
    }
    upstream->expires_at(deadline);
    bool reusable = false;
    const ExchangeStatus status = co_await exchange(*upstream, reused, request, result, reusable);
    if (status == ExchangeStatus::kRetryOnFreshConnection) {
      continue;
    }
    if (status == ExchangeStatus::kDone && reusable) {
      pool.release(endpoint.address, std::move(upstream));
    }
    co_return result;
  }
  co_return result;
}

unsigned statusFor(LocalReplyReason reason) {
  switch (reason) {
    case LocalReplyReason::kUpstreamTimeout:
      return 504;
    case LocalReplyReason::kUpstreamReset:
      return 502;
    default:
      return 503;
  }
}

struct Rejection {
  LocalReplyReason reason;
  unsigned status;
  std::string detail;
};

struct ReadOutcome {
  std::optional<Request> request;
  std::optional<Rejection> rejection;  // answer with this, then close
  bool close_quietly = false;          // the client closed or idled out between requests
};

// Sets a stream deadline; zero means "no deadline", as the API documents.
void expireAfter(beast::tcp_stream& stream, std::chrono::milliseconds timeout) {
  if (timeout.count() > 0) {
    stream.expires_after(timeout);
  } else {
    stream.expires_never();
  }
}

// Framing checks Beast leaves to the caller (RFC 9112 sections 3.2 and 6.1):
// a request that could be read two ways is refused, never forwarded.
std::optional<Rejection> checkFraming(const Request& request, const ListenerConfig& listener) {
  auto bad = [](std::string detail) {
    return Rejection{LocalReplyReason::kBadRequest, 400, std::move(detail)};
  };
  size_t host_count = 0;
  size_t header_count = 0;
  bool has_transfer_encoding = false;
  for (const auto& field : request) {
    ++header_count;
    if (field.name() == http::field::host) {
      ++host_count;
    } else if (field.name() == http::field::transfer_encoding) {
      has_transfer_encoding = true;
    }
  }
  if (header_count > listener.limits.max_request_headers) {
    return Rejection{LocalReplyReason::kHeadersTooLarge, 431,
                     "request has " + std::to_string(header_count) + " headers, more than " +
                         std::to_string(listener.limits.max_request_headers)};
  }
  // The proxy appends the peer address to X-Forwarded-For; a header value past
  // 64 KiB cannot be represented, so an absurd chain is refused up front.
  size_t forwarded_bytes = 0;
  for (const auto& field : request) {
    if (beast::iequals(field.name_string(), "x-forwarded-for")) {
      forwarded_bytes += field.value().size() + 2;
    }
  }
  if (forwarded_bytes > kMaxForwardedForBytes) {
    return Rejection{
        LocalReplyReason::kHeadersTooLarge, 431,
        "X-Forwarded-For is longer than " + std::to_string(kMaxForwardedForBytes) + " bytes"};
  }
  if (request.version() >= 11 && host_count != 1) {
    return bad(host_count == 0 ? "HTTP/1.1 request without a Host header"
                               : "request with more than one Host header");
  }
  if (has_transfer_encoding) {
    if (request.version() < 11) {
      return bad("Transfer-Encoding in an HTTP/1.0 request");
    }
    if (request.count(http::field::content_length) != 0) {
      return bad("request has both Transfer-Encoding and Content-Length");
    }
    if (!request.chunked()) {
      return bad("Transfer-Encoding must end with chunked");
    }
  }
  return std::nullopt;
}

Rejection rejectionFor(const error_code& error, const ListenerConfig& listener, bool reading_body) {
  if (error == http::error::header_limit) {
    return {LocalReplyReason::kHeadersTooLarge, 431,
            "request headers are larger than " +
                std::to_string(listener.limits.max_request_headers_bytes) + " bytes"};
  }
  if (error == http::error::body_limit) {
    return {LocalReplyReason::kBodyTooLarge, 413,
            "request body is larger than " + std::to_string(kMaxBufferedBody) + " bytes"};
  }
  if (error == beast::error::timeout) {
    return {LocalReplyReason::kBadRequest, 408,
            reading_body ? "request body not received within the idle timeout"
                         : "request headers not received within the timeout"};
  }
  return {LocalReplyReason::kBadRequest, 400, "malformed request: " + error.message()};
}

bool isDisconnect(const error_code& error) {
  return error == http::error::end_of_stream || error == asio::error::eof ||
         error == asio::error::connection_reset || error == asio::error::broken_pipe;
}

// Reads one request: waits up to the idle timeout for its first byte, up to the
// request-headers timeout for the rest of its header block, checks framing, and
// reads the (bounded) body under the idle timeout.
asio::awaitable<ReadOutcome> readRequest(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                         const ListenerConfig& listener, WorkerContext& worker) {
  ReadOutcome outcome;
  if (buffer.size() == 0) {
    if (worker.draining) {
      outcome.close_quietly = true;
      co_return outcome;
    }
    expireAfter(stream, listener.limits.idle_timeout);
    worker.idle_connections.insert(&stream);
    auto [error, bytes] = co_await stream.async_read_some(buffer.prepare(4096), kUseTuple);
    worker.idle_connections.erase(&stream);
    if (error) {
      outcome.close_quietly = true;  // closed, reset or idle: nothing to answer
      co_return outcome;
    }
    buffer.commit(bytes);
  }
  http::request_parser<http::string_body> parser;
  parser.header_limit(listener.limits.max_request_headers_bytes);
  parser.body_limit(kMaxBufferedBody);
  expireAfter(stream, listener.limits.request_headers_timeout);
  auto [header_error, header_bytes] =
      co_await http::async_read_header(stream, buffer, parser, kUseTuple);
  if (header_error) {
    if (isDisconnect(header_error)) {
      outcome.close_quietly = true;
    } else {
      outcome.rejection = rejectionFor(header_error, listener, false);
    }
    co_return outcome;
  }
  if (auto rejection = checkFraming(parser.get(), listener)) {
    outcome.rejection = std::move(rejection);
    co_return outcome;
  }
  if (!parser.is_done()) {
    if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
      // The body is buffered here before anything goes upstream, so the proxy
      // itself invites the client to send it.
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      expireAfter(stream, listener.limits.idle_timeout);
      co_await asio::async_write(stream, asio::buffer(kContinue), kUseTuple);
    }
    expireAfter(stream, listener.limits.idle_timeout);
    auto [body_error, body_bytes] = co_await http::async_read(stream, buffer, parser, kUseTuple);
    if (body_error) {
      if (isDisconnect(body_error)) {
        outcome.close_quietly = true;
      } else {
        outcome.rejection = rejectionFor(body_error, listener, true);
      }
      co_return outcome;
    }
  }
  Request request = parser.release();
  if (request.method() == http::verb::trace && !request.body().empty()) {
    outcome.rejection = Rejection{LocalReplyReason::kBadRequest, 400, "TRACE request with a body"};
    co_return outcome;
  }
  // The proxy answered any Expect itself; it is not the upstream's to answer again.
  request.erase(http::field::expect);
  outcome.request = std::move(request);
  co_return outcome;
}

}  // namespace

asio::awaitable<void> serveHttp1Connection(asio::ip::tcp::socket socket,
                                           const ListenerConfig& listener, WorkerContext& worker) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  error_code endpoint_error;
  const auto peer = stream.socket().remote_endpoint(endpoint_error);
  const std::string peer_address = endpoint_error ? "" : peer.address().to_string();

  for (;;) {
    ReadOutcome outcome = co_await readRequest(stream, buffer, listener, worker);
    if (outcome.close_quietly) {
      break;
    }
    if (outcome.rejection) {
      const Rejection& rejection = *outcome.rejection;
      sessionLog().info("{} from {}: {} {}", listener.name, peer_address, rejection.status,
                        rejection.detail);
      LocalResponse reply =
          makeLocalReply(rejection.reason, rejection.status, rejection.detail, 11, false, false);
      stream.expires_after(std::chrono::seconds(5));
      co_await http::async_write(stream, reply, kUseTuple);
      break;
    }
    Request& request = *outcome.request;
    const bool head_request = request.method() == http::verb::head;
    const bool client_keep_alive = request.keep_alive() && !worker.draining;
    const unsigned version = request.version();
    const std::string target(request.target());
    const std::string authority(request[http::field::host]);
    // Hold the snapshot for the whole exchange: a config change mid-request
    // must not free what this request uses.
    const SnapshotPtr snapshot = worker.snapshot;

    std::optional<Response> response;
    std::optional<LocalResponse> local;
    const VirtualHostConfig* vhost =
        listener.routes != nullptr ? listener.routes->findVirtualHost(authority) : nullptr;
    const RouteEntry* route = vhost != nullptr ? RouteTable::findRoute(*vhost, target) : nullptr;
    if (route == nullptr) {
      local = makeLocalReply(LocalReplyReason::kNoRoute, 404,
                             "no route for host '" + authority + "' and path '" + target + "'",
                             version, client_keep_alive, head_request);
    } else if (route->direct_response) {
      local =
          makeLocalReply(LocalReplyReason::kDirectResponse, route->direct_response->first,
                         route->direct_response->second, version, client_keep_alive, head_request);
    } else if (const UpstreamPick pick = pickUpstream(*route, worker); pick.endpoint != nullptr) {
      const ClusterConfig* cluster = pick.cluster;
      removeHopByHopHeaders(request);
      if (listener.limits.append_x_forwarded_for && !peer_address.empty()) {
        // Several X-Forwarded-For lines form one list (RFC 9110 section 5.3).
        std::string forwarded;
        for (const auto& field : request) {
          if (beast::iequals(field.name_string(), "x-forwarded-for")) {
            forwarded.append(forwarded.empty() ? "" : ", ").append(field.value());
          }
        }
        forwarded += forwarded.empty() ? peer_address : ", " + peer_address;
        request.set("X-Forwarded-For", forwarded);
      }
      if (listener.limits.generate_request_id && request["x-request-id"].empty()) {
        request.set("x-request-id", requestId(worker));
      }
      if (route->has_prefix_rewrite && route->path_kind == PathMatchKind::kPrefix) {
        request.target(route->prefix_rewrite + target.substr(route->path.size()));
      }
      request.prepare_payload();
      ForwardResult result = co_await forward(request, *pick.endpoint, cluster->connect_timeout,
                                              route->timeout, worker.upstream_pool);
      if (result.response) {
        response = std::move(result.response);
      } else {
        sessionLog().warn("{} {} {}: cluster {}: {}", listener.name,
                          std::string(request.method_string()), target, cluster->name,
                          result.detail);
        local = makeLocalReply(result.failure, statusFor(result.failure),
                               "cluster '" + cluster->name + "': " + result.detail, version,
                               client_keep_alive, head_request);
      }
    } else {
      local = makeLocalReply(LocalReplyReason::kNoHealthyUpstream, 503,
                             "cluster '" + pick.cluster->name + "' has no endpoints", version,
                             client_keep_alive, head_request);
    }

    error_code write_error;
    stream.expires_after(listener.limits.idle_timeout);
    if (response) {
      const unsigned status = response->result_int();
      // A response to HEAD, a 204 or a 304 has no body but keeps the upstream's
      // framing headers (RFC 9110 8.6, 15.3.5, 15.4.5): leave them as they are.
      const bool bodiless = request.method() == http::verb::head || status == 204 || status == 304;
      removeHopByHopHeaders(*response);
      response->version(version);
      response->keep_alive(client_keep_alive);
      if (!bodiless) {
        response->prepare_payload();
      }
      std::tie(write_error, std::ignore) = co_await http::async_write(stream, *response, kUseTuple);
    } else {
      if (local->result_int() >= 400 && local->result_int() != 404) {
        sessionLog().info("{} {} {} -> {} {}", listener.name, std::string(request.method_string()),
                          target, local->result_int(), (*local)["x-weft-reason"]);
      }
      std::tie(write_error, std::ignore) = co_await http::async_write(stream, *local, kUseTuple);
    }
    if (write_error || !client_keep_alive) {
      break;
    }
  }
  error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

}  // namespace weft::proxy
