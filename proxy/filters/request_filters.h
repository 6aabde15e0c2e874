#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "proxy/filters/fault_injection.h"
#include "proxy/http1/local_reply.h"
#include "proxy/router/request_view.h"
#include "proxy/snapshot/snapshot.h"

namespace weft::proxy {

// What a route's request filters decided for one request, before it is
// forwarded: pass (perhaps after a delay), or answer locally.
struct FilterVerdict {
  bool reply = false;
  LocalReplyReason reason = LocalReplyReason::kRateLimited;
  unsigned status = 0;
  int grpc_status = -1;  // a gRPC request's grpc-status when not grpcStatusFor(reason)
  std::string detail;
  std::chrono::milliseconds delay{0};  // wait this long first (an injected delay)
  FaultActivity fault_activity;        // held while a faulted request runs
};

// Runs the filters of `route` in order: the local rate limit (a request over
// it is answered at once, nothing else runs), then fault injection (a delay,
// then perhaps an abort). Both protocols' sessions call it after routing, so a
// route behaves alike for HTTP/1.1 and HTTP/2 clients.
// `source_identity`: the client's mesh identity (SPIFFE id), empty without mesh mTLS; with
// the source address in `request`, it picks a per-source rate-limit bucket.
FilterVerdict runRequestFilters(const RouteEntry& route, const RequestView& request, bool grpc,
                                std::string_view source_identity, std::string& scratch);

// What is left of a route timeout (0: none) after an injected delay held the request: the
// delay counts inside it (route.proto). Nothing when the delay used it all up: the request
// then times out without going upstream.
inline std::optional<std::chrono::milliseconds> timeoutAfterDelay(std::chrono::milliseconds timeout,
                                                                  std::chrono::milliseconds delay) {
  if (timeout.count() == 0 || delay.count() == 0) {
    return timeout;
  }
  if (timeout <= delay) {
    return std::nullopt;
  }
  return timeout - delay;
}

// The local reply's detail for a delay that used up the route timeout.
std::string delayPastTimeoutDetail(std::chrono::milliseconds timeout,
                                   std::chrono::milliseconds delay);

// Whether the route has any request filter (so a session can skip the call).
inline bool hasRequestFilters(const RouteEntry& route) {
  return route.fault != nullptr || route.rate_limit != nullptr;
}

}  // namespace weft::proxy
