#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "proxy/tls/upstream_tls.h"
#include "proxy/upstream/http1_connection_pool.h"
#include "proxy/upstream/upstream_retry.h"

namespace weft::proxy {

// The steps every relay to an HTTP/1.1 upstream takes, whatever protocol the
// client speaks (proxy/http1/upstream_exchange, proxy/http2/http1_upstream_relay).

// Largest upstream response header accepted.
constexpr uint32_t kMaxUpstreamHeaderBytes = 60 * 1024;

// Connects a new `connection` to `endpoint` and, when `transport` says so,
// runs the TLS handshake (offering HTTP/1.1 on the mesh, or `mesh_alpn`), giving up after
// `connect_timeout` or at `deadline`, whichever is first, and turns Nagle off. Empty on
// success, otherwise the failure for the local reply ("connecting to a:p failed: ...").
boost::asio::awaitable<std::string> connectUpstream(UpstreamConnection& connection,
                                                    const boost::asio::ip::tcp::endpoint& endpoint,
                                                    const UpstreamTransport& transport,
                                                    TlsSessionCache& tls_sessions,
                                                    std::chrono::milliseconds connect_timeout,
                                                    std::chrono::steady_clock::time_point deadline,
                                                    std::string_view mesh_alpn = kMeshAlpnHttp1);

struct ResponseHeadRead {
  boost::system::error_code error;
  bool got_bytes = false;  // whether any response byte arrived (no retry then)
};

// Reads the final response header into `connection.response`, skipping interim responses
// (100 Continue, 103 Early Hints: the client gets only the final one); 101 is
// final. Each header gets a fresh parser: header limit kMaxUpstreamHeaderBytes,
// no body limit (bodies stream), no body for a HEAD request. The caller sets
// the connection's expiry first.
boost::asio::awaitable<ResponseHeadRead> readFinalResponseHeader(UpstreamConnection& connection,
                                                                 bool head_request);

// Whether a request that failed on a reused keep-alive connection before any
// response byte may go again on a fresh one: the upstream closed the idle
// connection, so the request cannot have reached the application. Only for
// requests without a body (`retry_allowed`), and never after a timeout.
bool mayRetryOnFreshConnection(bool retry_allowed, const ResponseHeadRead& read,
                               const UpstreamConnection& connection);

// The gRPC status of a trailers-only response (grpc-status in the header), or -1: what retry
// policies and outlier detection read from a gRPC answer that failed at once.
int headerGrpcStatus(const UpstreamResponseParser::value_type& header);

// Whether an attempt that ended with `attempt` goes again (UpstreamRetry::decide), the policy
// reading `responded`'s response header when one came (null: none did).
RetryDecision retryAfterAttempt(UpstreamRetry& retry, const AttemptResult& attempt,
                                const UpstreamConnection* responded);

}  // namespace weft::proxy
