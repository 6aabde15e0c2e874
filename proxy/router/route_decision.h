#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/http1/local_reply.h"
#include "proxy/snapshot/snapshot.h"
#include "proxy/upstream/upstream_pick.h"

namespace weft::proxy {

// What the router decided for one request, whatever protocol it came in on:
// forward to `pick.endpoint`, or answer locally with `local_reason`.
struct RouteDecision {
  enum class Kind { kForward, kLocalReply };
  Kind kind = Kind::kLocalReply;
  const RouteEntry* route = nullptr;
  UpstreamPick pick;
  // With kLocalReply: why, with which status, and the one-line detail (for a
  // direct response, its body).
  LocalReplyReason local_reason = LocalReplyReason::kNoRoute;
  unsigned status = 404;
  std::string detail;
};

// Routes a request by authority and target (path with query): virtual host,
// route, then weighted cluster and endpoint. `cursor` is the worker's
// load-balancing counter; it advances only when an upstream is picked.
RouteDecision decideRoute(const HttpChainConfig& http, std::string_view authority,
                          std::string_view target, uint64_t& cursor);

// The stream idle timeout of a request on `route` (its override, else the chain's).
inline std::chrono::milliseconds streamIdleTimeout(const RouteEntry& route,
                                                   const HttpListenerLimits& limits) {
  return route.idle_timeout ? *route.idle_timeout : limits.stream_idle_timeout;
}

// The status of a local reply for a failure reaching the upstream.
unsigned failureStatus(LocalReplyReason reason);

// A request id unique per process run: worker index and the worker's sequence.
std::string makeRequestId(uint32_t worker_index, uint64_t sequence);

}  // namespace weft::proxy
