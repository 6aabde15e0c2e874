#include "proxy/http1/downstream_session.h"

#include "proxy/authz/principal_namespace.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include "proxy/io/deadline_stream.h"
#include "proxy/io/stream_shutdown.h"

#include "common/log/logger.h"
#include "proxy/authz/request_authorization.h"
#include "proxy/filters/request_filters.h"
#include "proxy/http1/beast_header_lookup.h"
#include "proxy/http1/buffered_parse.h"
#include "proxy/http1/hop_by_hop.h"
#include "proxy/http1/http2_upstream_bridge.h"
#include "proxy/http1/local_reply.h"
#include "proxy/http1/upgrade.h"
#include "proxy/http1/upstream_exchange.h"
#include "proxy/http2/client_connection_pool.h"
#include "proxy/http2/stream_idle_watch.h"
#include "proxy/router/grpc_timeout.h"
#include "proxy/router/path_normalization.h"
#include "proxy/router/route_decision.h"
#include "proxy/stats/security_counters.h"
#include "proxy/stats/traffic_counters.h"
#include "proxy/upstream/request_mirror.h"

namespace weft::proxy {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace boost::asio::experimental::awaitable_operators;
using boost::system::error_code;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
// Bodies stream through this much memory per connection, whatever their size.
constexpr size_t kRelayBufferBytes = 16 * 1024;
constexpr size_t kMaxForwardedForBytes = 16 * 1024;

spdlog::logger& sessionLog() {
  static spdlog::logger& logger = weft::log::logger("http1");
  return logger;
}

std::string requestId(WorkerContext& worker) {
  return makeRequestId(worker.worker_index, ++worker.next_request_id);
}

struct Rejection {
  LocalReplyReason reason;
  unsigned status;
  std::string detail;
};

// Sets a stream deadline; zero means "no deadline", as the API documents.
void expireAfter(DeadlineStream& stream, std::chrono::milliseconds timeout) {
  if (timeout.count() > 0) {
    stream.expires_after(timeout);
  } else {
    stream.expires_never();
  }
}

// Transfer-Encoding must list codings the proxy can relay, with chunked once
// and last (RFC 9112 section 6.1), in one field line without parameters. The
// proxy passes other codings through for the upstream to decode, so it accepts
// those registered with IANA; anything else gets 501, the status the RFC gives
// for a coding not understood.
//
// One line only: Beast's parser decides chunked framing from the combined
// lines while message::chunked(), which the relay uses to frame what it
// forwards, reads the first; and Beast's token list stops at a ';'. A request
// the two could read differently would let a client smuggle a second request
// to the upstream, so neither is accepted.
std::optional<Rejection> checkTransferCodings(const http::request<http::buffer_body>& request) {
  static constexpr std::string_view kRelayed[] = {"gzip", "x-gzip", "deflate", "compress",
                                                  "x-compress"};
  auto bad = [](std::string detail) {
    return Rejection{LocalReplyReason::kBadRequest, 400, std::move(detail)};
  };
  if (request.count(http::field::transfer_encoding) != 1) {
    return bad("more than one Transfer-Encoding field");
  }
  std::string_view list = request[http::field::transfer_encoding];
  if (list.find(';') != std::string_view::npos) {
    return bad("Transfer-Encoding with parameters");
  }
  size_t chunked_count = 0;
  bool chunked_last = false;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view coding = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) {
      coding.remove_prefix(1);
    }
    while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) {
      coding.remove_suffix(1);
    }
    if (coding.empty()) {
      continue;  // empty list elements are allowed and ignored (RFC 9110 section 5.6.1)
    }
    chunked_last = beast::iequals(coding, "chunked");
    if (chunked_last) {
      ++chunked_count;
      continue;
    }
    const bool relayed =
        std::any_of(std::begin(kRelayed), std::end(kRelayed),
                    [&](std::string_view known) { return beast::iequals(coding, known); });
    if (!relayed) {
      return Rejection{LocalReplyReason::kBadRequest, 501,
                       "unknown transfer coding '" + std::string(coding) + "'"};
    }
  }
  if (chunked_count > 1) {
    return bad("Transfer-Encoding applies chunked twice");
  }
  // Both views must agree that the body is chunked: ours and Beast's.
  if (!chunked_last || !request.chunked()) {
    return bad("Transfer-Encoding must end with chunked");
  }
  return std::nullopt;
}

// Framing checks Beast leaves to the caller (RFC 9112 sections 3.2 and 6.1):
// a request that could be read two ways is refused, never forwarded.
std::optional<Rejection> checkFraming(const http::request<http::buffer_body>& request,
                                      const HttpChainConfig& http) {
  auto bad = [](std::string detail) {
    return Rejection{LocalReplyReason::kBadRequest, 400, std::move(detail)};
  };
  size_t host_count = 0;
  size_t header_count = 0;
  bool has_transfer_encoding = false;
  bool has_content_length = false;
  // The proxy appends the peer address to X-Forwarded-For; a header value past
  // 64 KiB cannot be represented, so an absurd chain is refused up front.
  size_t forwarded_bytes = 0;
  for (const auto& field : request) {
    ++header_count;
    switch (field.name()) {
      case http::field::host:
        ++host_count;
        break;
      case http::field::transfer_encoding:
        has_transfer_encoding = true;
        break;
      case http::field::content_length:
        // Beast accepts "2, 2" and repeated equal lines; forwarded as they are,
        // each upstream could read them its own way. RFC 9112 section 6.3
        // allows refusing them.
        if (has_content_length || field.value().find(',') != std::string_view::npos) {
          return bad("more than one Content-Length value");
        }
        has_content_length = true;
        break;
      case http::field::unknown:
        if (beast::iequals(field.name_string(), "x-forwarded-for")) {
          forwarded_bytes += field.value().size() + 2;
        }
        break;
      default:
        break;
    }
  }
  if (header_count > http.limits.max_request_headers) {
    return Rejection{LocalReplyReason::kHeadersTooLarge, 431,
                     "request has " + std::to_string(header_count) + " headers, more than " +
                         std::to_string(http.limits.max_request_headers)};
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
    if (has_content_length) {
      return bad("request has both Transfer-Encoding and Content-Length");
    }
    if (std::optional<Rejection> rejection = checkTransferCodings(request)) {
      return rejection;
    }
  }
  return std::nullopt;
}

Rejection rejectionFor(const error_code& error, const HttpChainConfig& http) {
  if (error == http::error::header_limit) {
    return {LocalReplyReason::kHeadersTooLarge, 431,
            "request headers are larger than " +
                std::to_string(http.limits.max_request_headers_bytes) + " bytes"};
  }
  if (error == beast::error::timeout) {
    return {LocalReplyReason::kBadRequest, 408, "request headers not received within the timeout"};
  }
  if (error == http::error::bad_obs_fold) {
    return {LocalReplyReason::kBadRequest, 400,
            "a header line continues the previous one (obs-fold, RFC 9112 section 5.2)"};
  }
  return {LocalReplyReason::kBadRequest, 400, "malformed request: " + error.message()};
}

bool isDisconnect(const error_code& error) {
  return error == http::error::end_of_stream || error == asio::error::eof ||
         error == asio::error::connection_reset || error == asio::error::broken_pipe;
}

struct HeaderOutcome {
  std::optional<Rejection> rejection;  // answer with this, then close
  bool close_quietly = false;          // the client closed or idled out between requests
};

// Reads the next request's header: waits up to the idle timeout for its first
// byte, then up to the request-headers timeout for the whole header block, and
// checks its framing. The body is left for the exchange to stream.
asio::awaitable<HeaderOutcome> readRequestHeader(DeadlineStream& stream, beast::flat_buffer& buffer,
                                                 RequestParser& parser, const HttpChainConfig& http,
                                                 WorkerContext& worker) {
  HeaderOutcome outcome;
  if (buffer.size() == 0) {
    if (worker.draining) {
      outcome.close_quietly = true;
      co_return outcome;
    }
    expireAfter(stream, http.limits.idle_timeout);
    error_code error;
    size_t bytes = 0;
    {
      const IdleRegistry::Entry idle(worker.idle_connections, stream);
      std::tie(error, bytes) = co_await stream.async_read_some(buffer.prepare(4096), kUseTuple);
    }
    if (error) {
      outcome.close_quietly = true;  // closed, reset or idle: nothing to answer
      co_return outcome;
    }
    buffer.commit(bytes);
  }
  parser.header_limit(http.limits.max_request_headers_bytes);
  parser.body_limit(boost::none);  // bodies stream through a fixed buffer
  // The header deadline is a timer that cancels the read rather than the
  // stream's own expiry, which would close the socket before the 408 is sent.
  stream.expires_never();
  error_code error;
  if (parseBuffered(parser, buffer, error)) {
    // The whole header was buffered (as it usually is): no read, no timer.
  } else if (http.limits.request_headers_timeout.count() > 0) {
    asio::steady_timer deadline(co_await asio::this_coro::executor,
                                http.limits.request_headers_timeout);
    auto outcome_or_timeout =
        co_await (readHeaderParsed(stream, buffer, parser) || deadline.async_wait(kUseTuple));
    if (outcome_or_timeout.index() == 1) {
      error = beast::error::timeout;
    } else {
      error = std::get<0>(outcome_or_timeout);
    }
  } else {
    error = co_await readHeaderParsed(stream, buffer, parser);
  }
  if (error) {
    if (isDisconnect(error)) {
      outcome.close_quietly = true;
    } else {
      outcome.rejection = rejectionFor(error, http);
    }
    co_return outcome;
  }
  outcome.rejection = checkFraming(parser.get(), http);
  if (!outcome.rejection && parser.get().method() == http::verb::trace && !parser.is_done()) {
    outcome.rejection = Rejection{LocalReplyReason::kBadRequest, 400, "TRACE request with a body"};
  }
  co_return outcome;
}

// Prepares the request header for the upstream: hop-by-hop headers out,
// X-Forwarded-For and x-request-id in, the route's rewrites and header
// mutations applied.
void adaptRequestHeader(http::request<http::buffer_body>& request, const RouteDecision& decision,
                        const HttpChainConfig& http, const std::string& peer_address,
                        std::string_view peer_principal, std::string_view upgrade,
                        WorkerContext& worker, RequestTrace& trace) {
  const RouteEntry& route = *decision.route;
  // "TE: trailers" says the client takes trailers; the proxy relays them, so the
  // upstream may send them (TE itself is hop-by-hop).
  bool takes_trailers = false;
  for (auto token : http::token_list{request[http::field::te]}) {
    takes_trailers = takes_trailers || beast::iequals(token, "trailers");
  }
  removeHopByHopHeaders(request);
  if (takes_trailers) {
    request.set(http::field::te, "trailers");
  }
  // The proxy answers Expect itself (before streaming the body); the upstream does not.
  request.erase(http::field::expect);
  if (http.limits.append_x_forwarded_for && !peer_address.empty()) {
    // Several X-Forwarded-For lines form one list (RFC 9110 section 5.3).
    std::string forwarded;
    for (const auto& field : request) {
      if (beast::iequals(field.name_string(), "x-forwarded-for")) {
        forwarded.append(forwarded.empty() ? "" : ", ").append(field.value());
      }
    }
    forwarded.append(forwarded.empty() ? "" : ", ").append(peer_address);
    request.set("X-Forwarded-For", forwarded);
  }
  if (http.limits.generate_request_id && request["x-request-id"].empty()) {
    request.set("x-request-id", requestId(worker));
  }
  if (http.tracing) {
    // The proxy's span: its context replaces the caller's in the forwarded request.
    std::string scratch;
    const uint16_t present = presentTraceFields(request);
    trace = startRequestTrace(*http.tracing, BeastHeaderLookup(request.base()), present, scratch,
                              worker.trace_random);
    // The caller's fields of the chain's formats go (rewritten below, or a stale parent, debug
    // flag, or a tracestate of another trace); a request that carried none is not searched.
    if (const uint16_t stale = staleTraceFields(trace, http.tracing->formats, present)) {
      for (auto field = request.begin(); field != request.end();) {
        field = (traceFieldBit(field->name_string()) & stale) ? request.erase(field) : ++field;
      }
    }
    for (const TraceHeaders::Field& field : TraceHeaders(trace)) {
      request.insert(field.name, field.value);
    }
  }
  // Who called over mTLS is for the proxy to say, never the client.
  request.erase(kClientCertField);
  if (!peer_principal.empty()) {
    std::string client_cert = "URI=";
    client_cert.append(peer_principal);
    request.set(kClientCertField, client_cert);
  }
  std::string rewritten;
  if (rewriteTarget(route, request.target(), rewritten)) {
    request.target(rewritten);
  }
  if (!route.host_rewrite.empty()) {
    request.set("x-forwarded-host", request[http::field::host]);
    request.set(http::field::host, route.host_rewrite);
  }
  decision.request_mutations.apply(request.base());
  // Upstream connections speak HTTP/1.1 with keep-alive whatever the client spoke.
  request.version(11);
  request.keep_alive(true);
  if (!upgrade.empty()) {
    // Hop-by-hop, but the upgrade is asked of the upstream on this very hop.
    request.set(http::field::connection, "Upgrade");
    request.set(http::field::upgrade, upgrade);
  }
}

}  // namespace

const std::shared_ptr<Http2ClientPool>& WorkerContext::http2UpstreamPool() {
  if (!http2_upstream_pool) {
    http2_upstream_pool = std::make_shared<Http2ClientPool>();
  }
  return http2_upstream_pool;
}

uint32_t WorkerContext::metricSource(const ListenerConfig& listener,
                                     std::string_view peer_principal) {
  if (listener.direction != TrafficDirection::kInbound) {
    return listener.metric_source;
  }
  const std::string_view caller_namespace = authz::principalNamespace(peer_principal);
  if (caller_namespace.empty()) {
    return MetricLabelTable::kUnknown;  // a plaintext caller, or an identity without a namespace
  }
  if (auto known = metric_callers.find(caller_namespace); known != metric_callers.end()) {
    return known->second;
  }
  if (metric_callers.size() >= MetricLabelTable::kMaxEntries) {
    return MetricLabelTable::kOverflow;  // no lock on the request path, whatever callers come
  }
  // The caller's workload is not in its identity (several may share a service account).
  const uint32_t id = MetricLabelTable::global().intern("", caller_namespace, "");
  metric_callers.emplace(caller_namespace, id);
  return id;
}

SpanExporter& WorkerContext::spanExporter(const asio::any_io_executor& executor) {
  if (!span_exporter) {
    span_exporter = std::make_shared<SpanExporter>(executor, &snapshot, worker_index);
  }
  return *span_exporter;
}

StreamIdleWatcher& WorkerContext::streamIdleWatcher(const asio::any_io_executor& executor) {
  if (!stream_idle_watcher) {
    stream_idle_watcher = std::make_shared<StreamIdleWatcher>(executor);
  }
  return *stream_idle_watcher;
}

asio::awaitable<void> serveHttp1Connection(DeadlineStream stream, DownstreamPeer peer,
                                           beast::flat_buffer buffer, std::string listener_name,
                                           std::string chain_name, WorkerContext& worker) {
  std::array<char, kRelayBufferBytes> scratch;
  const std::string peer_address = peer.source.address().to_string();
  std::string authz_scratch;  // a repeated header's joined value, for policy conditions
  RequestReplay replay;       // a retried request's copy, its memory reused

  uint32_t requests_served = 0;
  for (;;) {
    // Each request reads the worker's current snapshot and holds it to the end:
    // a config change applies from the next request on, and never frees what a
    // request in flight uses.
    const SnapshotPtr snapshot = worker.snapshot;
    const ListenerConfig* listener = snapshot->findListener(listener_name);
    const FilterChainConfig* chain = listener ? listener->findChain(chain_name) : nullptr;
    if (chain == nullptr || !chain->http) {
      break;  // the listener or its chain was removed or changed by a config change
    }
    const HttpChainConfig& http = *chain->http;
    RequestParser parser;
    HeaderOutcome header = co_await readRequestHeader(stream, buffer, parser, http, worker);
    if (header.close_quietly) {
      break;
    }
    // The golden metrics' series: who calls (here), whom (once routed) and the outcome.
    const auto started = std::chrono::steady_clock::now();
    RequestSeries series{listener->direction, worker.metricSource(*listener, peer.principal),
                         listener->metric_destination};
    ExchangeTally tally;
    if (header.rejection) {
      const Rejection& rejection = *header.rejection;
      sessionLog().info("{} from {}: {} {}", listener_name, peer_address, rejection.status,
                        rejection.detail);
      LocalResponse reply =
          makeLocalReply(rejection.reason, rejection.status, rejection.detail, 11, false, false);
      if (http.hide_local_reply_reason) {
        reply.erase("x-weft-reason");
      }
      stream.expires_after(std::chrono::seconds(5));
      co_await http::async_write(stream, reply, kUseTuple);
      series.response_code = static_cast<uint16_t>(rejection.status);
      series.response_flag = responseFlag(rejection.reason);
      const auto now = std::chrono::steady_clock::now();
      worker.request_metrics.recordRequest(series.key(), now - started, 0, reply.body().size());
      if (worker.access_log.wants(http.access_log.get(), true)) {
        AccessLogRecord record;
        record.start_time = systemTimeOf(started, now);
        record.duration = now - started;
        record.protocol = "HTTP/1.1";
        if (parser.is_header_done()) {
          // Refused after its header was read (framing, a TRACE with a body): what it asked.
          const auto& refused = parser.get();
          record.protocol = refused.version() == 10 ? "HTTP/1.0" : "HTTP/1.1";
          record.method = refused.method_string();
          record.path = refused.target();
          record.authority = refused[http::field::host];
          record.user_agent = refused[http::field::user_agent];
        }
        record.response_code = series.response_code;
        record.response_flags = responseFlagName(series.response_flag);
        record.bytes_sent = reply.body().size();
        record.downstream_peer = peer.source;
        record.downstream_principal = peer.principal;
        worker.access_log.write(*http.access_log, record, worker.worker_index);
      }
      break;
    }
    auto& request = parser.get();
    const bool head_request = request.method() == http::verb::head;
    const unsigned version = request.version();
    // A local reply to a request whose body was not read ends the connection:
    // the unread body would otherwise be parsed as the next request.
    bool keep_alive = request.keep_alive() && !worker.draining;
    ++requests_served;
    if (http.max_requests_per_connection != 0 &&
        requests_served >= http.max_requests_per_connection) {
      keep_alive = false;  // this response says Connection: close
    }

    // Normalized once, before routing: what routes and policies match is what
    // goes upstream.
    std::string normalized_target;
    const PathVerdict path_verdict =
        normalizePath(request.target(), http.path_normalization, normalized_target);
    if (path_verdict == PathVerdict::kRewritten) {
      request.target(normalized_target);
    }

    const std::string_view authority = request[http::field::host];
    const std::string_view target = request.target();
    const BeastHeaderLookup header_lookup(request.base());
    const RequestView view{request.method_string(), "http", authority, target, &header_lookup,
                           peer.source.address()};
    RouteDecision decision;
    std::string_view authz_policy;  // for the access log
    if (path_verdict == PathVerdict::kInvalid || path_verdict == PathVerdict::kEscapedSlash) {
      decision.local_reason = path_verdict == PathVerdict::kInvalid
                                  ? LocalReplyReason::kBadRequest
                                  : LocalReplyReason::kEscapedSlash;
      decision.status = 400;
      decision.detail = path_verdict == PathVerdict::kInvalid
                            ? "invalid request path (bad percent-encoding or not origin-form)"
                            : "encoded slash in the request path";
    } else if (chain->authorization &&
               !authorizeRequest(*chain->authorization, peer, listener_name,
                                 request.method_string(), authority, target, header_lookup,
                                 authz_scratch, decision.detail, authz_policy)) {
      decision.local_reason = LocalReplyReason::kAuthzDenied;
      decision.status = 403;
    } else {
      decision = decideRoute(http, view, worker.worker_index, worker.round_robin_cursor);
    }
    // The route's rate limit and faults: a refused or aborted request becomes
    // a local reply; an injected delay is waited out before anything else.
    FilterVerdict filtered;
    CircuitSlot request_slot;  // the request's place in its cluster's max_requests
    if (decision.kind == RouteDecision::Kind::kForward && hasRequestFilters(*decision.route)) {
      filtered = runRequestFilters(*decision.route, view, false, peer.principal, authz_scratch);
      if (filtered.delay.count() > 0) {
        asio::steady_timer delay(co_await asio::this_coro::executor, filtered.delay);
        co_await delay.async_wait(kUseTuple);
      }
      if (filtered.reply) {
        decision.kind = RouteDecision::Kind::kLocalReply;
        decision.local_reason = filtered.reason;
        decision.status = filtered.status;
        decision.detail = std::move(filtered.detail);
      }
    }
    if (decision.kind == RouteDecision::Kind::kForward &&
        !request_slot.tryTake(decision.cluster->circuit, &ClusterCircuitCounts::active_requests,
                              decision.cluster->circuit_limits.max_requests)) {
      decision.kind = RouteDecision::Kind::kLocalReply;
      decision.local_reason = LocalReplyReason::kUpstreamOverflow;
      decision.status = 503;
      decision.detail = circuitOverflowDetail(decision.cluster->name,
                                              decision.cluster->circuit_limits.max_requests,
                                              "requests in flight", "max_requests");
    }

    if (decision.cluster != nullptr) {
      series.destination = decision.cluster->metricDestination(series.direction, decision.host);
    }
    // The path as the client sent it (normalized), for logs: a route's rewrite changes the
    // request's.
    const std::string original_target(target);
    RequestTrace trace;  // the proxy's span, when the chain traces and the request went on
    std::optional<LocalResponse> local;
    if (decision.kind == RouteDecision::Kind::kLocalReply) {
      if (decision.local_reason != LocalReplyReason::kDirectResponse &&
          decision.local_reason != LocalReplyReason::kRedirect) {
        series.response_flag = responseFlag(decision.local_reason);
        // A failure answered before any upstream is involved: logged, as every
        // local reply is.
        sessionLog().info("{} from {}: {} {}: {} {} ({})", listener_name, peer_address,
                          request.method_string(), target.substr(0, 256), decision.status,
                          localReplyCode(decision.local_reason), decision.detail);
      }
      local = makeDecisionReply(decision, version, keep_alive && parser.is_done(), head_request);
    } else {
      const RouteEntry* route = decision.route;
      const ClusterConfig& cluster = *decision.cluster;
      ActiveRequest active(decision.host);
      WorkerClusterState& cluster_state = cluster.workerState(worker.worker_index);
      cluster_state.retry_budget->deposit();
      const std::string method(request.method_string());
      const bool expects_continue =
          !parser.is_done() && beast::iequals(request[http::field::expect], "100-continue");
      // Only an HTTP/1.1 upstream can switch protocols on its connection.
      const std::string upgrade = version >= 11 && cluster.protocol == UpstreamProtocol::kHttp1
                                      ? allowedUpgrade(request.base(), http.upgrade_types)
                                      : std::string();
      adaptRequestHeader(request, decision, http, peer_address, peer.principal, upgrade, worker,
                         trace);
      if (expects_continue) {
        // The client waits for leave to send its body; the proxy gives it, since
        // it streams the body on as it comes.
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        expireAfter(stream, http.limits.idle_timeout);
        auto [continue_error, sent] =
            co_await asio::async_write(stream, asio::buffer(kContinue), kUseTuple);
        if (continue_error) {
          break;
        }
      }
      std::chrono::milliseconds timeout = route->timeout;
      if (route->max_grpc_timeout) {
        const auto grpc_timeout = request.find("grpc-timeout");
        const RequestDeadline deadline = requestDeadline(
            *route, request[http::field::content_type],
            grpc_timeout != request.end() ? std::optional<std::string_view>(grpc_timeout->value())
                                          : std::nullopt);
        if (deadline.malformed_grpc_timeout) {
          sessionLog().info("{} {} {}: malformed grpc-timeout '{}' ignored", listener_name, method,
                            original_target, grpc_timeout->value().substr(0, 64));
        } else if (deadline.forwarded_grpc_timeout) {
          request.set("grpc-timeout", *deadline.forwarded_grpc_timeout);  // the time left
        }
        timeout = deadline.timeout;
      }
      // An injected delay is part of the request's time (route.proto): what is left of the
      // route timeout bounds the upstream.
      const std::optional<std::chrono::milliseconds> time_left =
          timeoutAfterDelay(timeout, filtered.delay);
      HeaderList response_additions;
      if (!decision.set_cookie.empty()) {
        response_additions.push_back({"set-cookie", decision.set_cookie});
      }
      if (http.request_id_in_response && request.count("x-request-id") != 0) {
        response_additions.push_back({"x-request-id", std::string(request["x-request-id"])});
      }
      ExchangeResult result;
      if (!time_left) {
        result.failure = LocalReplyReason::kUpstreamTimeout;
        result.detail = delayPastTimeoutDetail(timeout, filtered.delay);
      } else {
        timeout = *time_left;
      }
      if (!time_left) {
        // Answered below, without going upstream.
      } else if (cluster.protocol == UpstreamProtocol::kHttp2) {
        const std::shared_ptr<Http2ClientPool> pool = worker.http2UpstreamPool();
        Http2BridgeParams bridge_params{
            UpstreamTarget{decision.host->address(), cluster.name, cluster.connect_timeout, timeout,
                           cluster.upstream_idle_timeout, cluster.max_requests_per_connection},
            cluster.http2,
            http.limits.idle_timeout,
            streamIdleTimeout(*route, http.limits),
            keep_alive,
            version};
        if (cluster.max_connections_per_host != 0) {
          bridge_params.target.max_connections = cluster.connectionLimitShare(worker.worker_index);
        }
        bridge_params.target.transport = cluster.transportFor(*decision.host);
        bridge_params.target.tls_sessions = &worker.tls_sessions;
        bridge_params.target.tls_owner = &cluster.tls;
        bridge_params.target.cluster = &cluster;
        bridge_params.draining = &worker.draining;
        bridge_params.response_mutations = &decision.response_mutations;
        bridge_params.response_additions = &response_additions;
        bridge_params.idle_watcher = &worker.streamIdleWatcher(stream.get_executor());
        bridge_params.attempts = Http2Attempts::Setup{
            upgrade.empty() ? route->retry_policy.get() : nullptr,
            &cluster,
            worker.worker_index,
            decision.host,
            decision.hash,
            cluster_state.outlier.get(),
            std::chrono::steady_clock::now() +
                (timeout.count() > 0 ? timeout : std::chrono::hours(24 * 365)),
            upgrade.empty() && !route->mirrors.empty() ? chooseMirrors(*route) : ChosenMirrors{}};
        bridge_params.pool_owner = pool;
        bridge_params.tally = &tally;
        bridge_params.snapshot = snapshot;
        bridge_params.active = &active;
        result =
            co_await relayToHttp2Upstream(stream, buffer, parser, bridge_params, *pool, scratch);
      } else {
        ExchangeParams params{attemptTarget(cluster, worker.worker_index, *decision.host),
                              cluster.connect_timeout,
                              timeout,
                              http.limits.idle_timeout,
                              keep_alive,
                              version};
        params.upgrade = upgrade;
        params.tunnel_idle_timeout = http.limits.idle_timeout;
        params.stream_idle_timeout = streamIdleTimeout(*route, http.limits);
        params.response_mutations = &decision.response_mutations;
        params.response_additions = &response_additions;
        params.pool_idle_timeout = cluster.upstream_idle_timeout;
        params.max_requests_per_connection = cluster.max_requests_per_connection;
        params.draining = &worker.draining;
        params.tls_sessions = &worker.tls_sessions;
        params.cluster = &cluster;
        params.outlier = cluster_state.outlier.get();
        params.tally = &tally;
        // Mirrors chosen for this request (each by its share); they get a copy
        // once the primary response is done.
        const ChosenMirrors mirrors = upgrade.empty() ? chooseMirrors(*route) : ChosenMirrors{};
        if ((route->retry_policy || mirrors.count > 0) && upgrade.empty()) {
          replay.reset();
          params.replay = &replay;
        }
        std::optional<UpstreamRetry> retry;
        if (route->retry_policy && upgrade.empty()) {
          retry.emplace(*route->retry_policy, cluster, worker.worker_index, decision.host,
                        decision.hash, active, replay,
                        std::chrono::steady_clock::now() +
                            (timeout.count() > 0 ? timeout : std::chrono::hours(24 * 365)));
          params.retry = &*retry;
        }
        result =
            co_await relayExchange(stream, buffer, parser, params, worker.upstream_pool, scratch);
        if (retry) {
          tally.retries = retry->state().retries();
        }
        if (mirrors.count > 0) {
          sendMirrors(mirrors, KeptRequest{nullptr, replay.bytes, replay.complete},
                      MirrorWorker{stream.get_executor(), snapshot, worker.worker_index,
                                   &worker.tls_sessions, worker.http2UpstreamPool()});
        }
      }
      if (tally.host != nullptr) {  // a retry's response came from another endpoint
        series.destination = cluster.metricDestination(series.direction, tally.host);
      }
      series.response_code = static_cast<uint16_t>(std::min(tally.response_status, 999U));
      series.grpc_status = tally.grpc_status >= 0 && tally.grpc_status < 64
                               ? static_cast<int8_t>(tally.grpc_status)
                               : int8_t{-1};
      switch (result.outcome) {
        case ExchangeResult::Outcome::kRelayed:
          keep_alive = result.keep_alive;
          series.response_flag = tally.response_flag;
          break;
        case ExchangeResult::Outcome::kFailedBeforeResponse:
          series.response_flag = responseFlag(result.failure);
          sessionLog().warn("{} {} {}: cluster {}: {}", listener_name, method, original_target,
                            cluster.name, result.detail);
          local = makeLocalReply(result.failure,
                                 result.status != 0 ? result.status : failureStatus(result.failure),
                                 "cluster '" + cluster.name + "': " + result.detail, version,
                                 keep_alive && parser.is_done(), head_request);
          decision.response_mutations.apply(local->base());
          for (const HeaderField& field : response_additions) {
            local->insert(field.name, field.value);
          }
          break;
        case ExchangeResult::Outcome::kFailedDuringResponse:
        case ExchangeResult::Outcome::kDownstreamGone:
          series.response_flag = result.outcome == ExchangeResult::Outcome::kDownstreamGone
                                     ? kFlagDownstreamDisconnect
                                     : kFlagUpstreamResetAfterResponse;
          sessionLog().info("{} {} {}: cluster {}: {}", listener_name, method, original_target,
                            cluster.name, result.detail);
          keep_alive = false;
          break;
      }
    }

    bool write_failed = false;
    if (local) {
      if (http.hide_local_reply_reason) {
        local->erase("x-weft-reason");
      }
      keep_alive = local->keep_alive();
      expireAfter(stream, http.limits.idle_timeout);
      auto [write_error, written] = co_await http::async_write(stream, *local, kUseTuple);
      series.response_code = static_cast<uint16_t>(local->result_int());
      series.grpc_status = -1;
      tally.response_body_bytes = local->body().size();
      write_failed = static_cast<bool>(write_error);
    }
    const auto now = std::chrono::steady_clock::now();
    worker.request_metrics.recordRequest(series.key(), now - started, tally.request_body_bytes,
                                         tally.response_body_bytes);
    const bool log_line = worker.access_log.wants(
        http.access_log.get(), accessLogFailure(series.response_code, series.response_flag),
        decision.route != nullptr ? decision.route->access_log_sample_threshold : std::nullopt);
    const bool export_span = trace.sampled && http.tracing && http.tracing->export_spans;
    if (log_line || export_span) {
      AccessLogRecord record;
      record.start_time = systemTimeOf(started, now);
      record.duration = now - started;
      if (tally.upstream_answered != std::chrono::steady_clock::time_point{}) {
        record.upstream_service_time = tally.upstream_answered - started;
      }
      record.protocol = version == 10 ? "HTTP/1.0" : "HTTP/1.1";
      record.method = request.method_string();
      // The host the client asked for: a route's host_rewrite moved it to x-forwarded-host.
      record.authority = decision.route != nullptr && !decision.route->host_rewrite.empty() &&
                                 decision.kind == RouteDecision::Kind::kForward
                             ? request["x-forwarded-host"]
                             : request[http::field::host];
      record.path = original_target;
      record.user_agent = request[http::field::user_agent];
      record.request_id = request["x-request-id"];
      record.traceparent = request["traceparent"];
      record.trace_id = traceIdOf(record.traceparent);
      record.response_code = series.response_code;
      record.grpc_status = series.grpc_status;
      record.response_flags = responseFlagName(series.response_flag);
      record.bytes_received = tally.request_body_bytes;
      record.bytes_sent = tally.response_body_bytes;
      if (decision.route != nullptr) {
        record.route_name = decision.route->name;
        record.route_metadata = &decision.route->metadata;
      }
      const lb::Host* host = tally.host != nullptr ? tally.host : decision.host;
      if (decision.cluster != nullptr) {
        record.upstream_cluster = decision.cluster->name;
        if (host != nullptr && decision.kind == RouteDecision::Kind::kForward) {
          record.upstream_host = host->address();
          record.upstream_principal = decision.cluster->transportFor(*host).expected_identity;
        }
      }
      record.downstream_peer = peer.source;
      record.downstream_principal = peer.principal;
      record.retries = tally.retries;
      record.authz = authz_policy;
      if (log_line) {
        worker.access_log.write(*http.access_log, record, worker.worker_index);
      }
      if (export_span) {
        worker.spanExporter(stream.get_executor()).add(makeSpan(*http.tracing, trace, record));
      }
    }
    if (write_failed) {
      break;
    }
    if (!keep_alive) {
      break;
    }
  }
  co_await shutdownSending(stream);
}

}  // namespace weft::proxy
