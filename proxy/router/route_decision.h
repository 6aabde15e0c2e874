#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/http1/local_reply.h"
#include "proxy/router/header_mutation.h"
#include "proxy/router/request_view.h"
#include "proxy/snapshot/snapshot.h"
#include "proxy/upstream/upstream_pick.h"

namespace weft::proxy {

// What the router decided for one request, whatever protocol it came in on:
// forward to `host` of `cluster`, or answer locally with `local_reason`.
struct RouteDecision {
  enum class Kind { kForward, kLocalReply };
  Kind kind = Kind::kLocalReply;
  const RouteEntry* route = nullptr;
  const WeightedClusterRef* backend = nullptr;  // the chosen backend of the route's split
  const ClusterConfig* cluster = nullptr;
  lb::Host* host = nullptr;
  std::optional<uint64_t> hash;  // the request hash the host was chosen with, for retries
  // With kLocalReply: why, with which status, and the one-line detail (for a
  // direct response, its body).
  LocalReplyReason local_reason = LocalReplyReason::kNoRoute;
  unsigned status = 404;
  std::string detail;
  std::string location;  // a redirect's Location
  // A Set-Cookie value for a generated affinity cookie (hash policy with ttl).
  std::string set_cookie;
  // Header mutations of the levels that matched, outermost first.
  MutationChain request_mutations;
  MutationChain response_mutations;
};

// Routes a request: virtual host by authority, the first route whose match
// fits, then the weighted backend and, through this worker's load balancer for
// that cluster, the host. `cursor` is the worker's weighted-split counter; it
// advances only when a backend is picked.
RouteDecision decideRoute(const HttpChainConfig& http, const RequestView& request,
                          uint32_t worker_index, uint64_t& cursor);

// The request target to forward: the route's prefix or regex rewrite applied
// to the path, the query kept. Returns false (and leaves `out` alone) when the
// route rewrites nothing.
bool rewriteTarget(const RouteEntry& route, std::string_view target, std::string& out);

// The proxy's own response for a kLocalReply decision: status, reason, body,
// Location for a redirect, and the response header mutations.
LocalResponse makeDecisionReply(const RouteDecision& decision, unsigned http_version,
                                bool keep_alive, bool head_request);

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
