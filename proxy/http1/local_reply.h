#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace weft::proxy {

// Why the proxy answered a request itself instead of the upstream. Each reason
// has a short stable code, sent in the x-weft-reason response header and logged,
// so nobody meets an opaque 4xx/5xx.
enum class LocalReplyReason {
  kBadRequest,           // 400: the request broke HTTP/1.1 framing rules
  kEscapedSlash,         // 400: an encoded slash in the path, refused by the listener
  kHeadersTooLarge,      // 431: request headers over the listener's limit
  kNoRoute,              // 404: no virtual host or route matched
  kDirectResponse,       // the route answers with a fixed response
  kRedirect,             // 3xx: the route answers with a redirect
  kNoHealthyUpstream,    // 503: the cluster has no endpoints
  kUpstreamConnectFail,  // 503: connecting to the chosen endpoint failed
  kUpstreamTimeout,      // 504: the route timeout expired
  kUpstreamReset,        // 502: the upstream closed or sent an invalid response
  kUpstreamOverflow,     // 503: the endpoint's connection limit is reached and too many wait
  kStreamIdleTimeout,    // 504 (408 while the request is incomplete): no bytes moved
  kAuthzDenied,          // 403: an authorization policy refused the request
  kFaultAbort,           // the route's fault injection aborted the request (its status)
  kRateLimited,          // 429 (or the configured status): the route's rate limit is reached
};

// The code for the x-weft-reason header, e.g. "no_route".
std::string_view localReplyCode(LocalReplyReason reason);

// The response_flags label of the golden metrics (RequestSeries::response_flag): 0 for a
// response relayed whole, a local reply's reason, or how a relayed exchange broke off.
inline constexpr uint8_t kNoResponseFlag = 0;
inline constexpr uint8_t responseFlag(LocalReplyReason reason) {
  return static_cast<uint8_t>(static_cast<uint8_t>(reason) + 1);
}
inline constexpr uint8_t kFlagDownstreamDisconnect =
    responseFlag(LocalReplyReason::kRateLimited) + 1;  // the client left before the end
inline constexpr uint8_t kFlagUpstreamResetAfterResponse =
    kFlagDownstreamDisconnect + 1;  // the upstream broke off a response under way
// Every flag's label value, by flag: "-", the local reply codes, "downstream_disconnect",
// "upstream_reset_after_response".
std::vector<std::string> responseFlagNames();
// One flag's label value.
std::string_view responseFlagName(uint8_t flag);

// The gRPC status a gRPC client gets for a local reply (gRPC status codes:
// 4 DEADLINE_EXCEEDED for timeouts, 14 UNAVAILABLE for upstream failures, ...).
unsigned grpcStatusFor(LocalReplyReason reason);

// `text` percent-encoded for grpc-message (gRPC over HTTP/2 spec): bytes
// outside printable ASCII, and '%', become %XX.
std::string grpcMessageText(std::string_view text);

using LocalResponse = boost::beast::http::response<boost::beast::http::string_body>;

// Builds the proxy's own response: status, x-weft-reason, and a one-line
// plain-text body that says what happened (`detail`). A reply to HEAD keeps the
// Content-Length of that body but sends none; 1xx, 204 and 304 have no body.
LocalResponse makeLocalReply(LocalReplyReason reason, unsigned status, std::string_view detail,
                             unsigned http_version, bool keep_alive, bool head_request);

}  // namespace weft::proxy
