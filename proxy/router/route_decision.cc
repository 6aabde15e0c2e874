#include "proxy/router/route_decision.h"

#include <cstdio>

namespace weft::proxy {

RouteDecision decideRoute(const HttpChainConfig& http, std::string_view authority,
                          std::string_view target, uint64_t& cursor) {
  RouteDecision decision;
  const VirtualHostConfig* vhost =
      http.routes != nullptr ? http.routes->findVirtualHost(authority) : nullptr;
  const RouteEntry* route = vhost != nullptr ? RouteTable::findRoute(*vhost, target) : nullptr;
  decision.route = route;
  if (route == nullptr) {
    decision.local_reason = LocalReplyReason::kNoRoute;
    decision.status = 404;
    decision.detail =
        "no route for host '" + std::string(authority) + "' and path '" + std::string(target) + "'";
    return decision;
  }
  if (route->direct_response) {
    decision.local_reason = LocalReplyReason::kDirectResponse;
    decision.status = route->direct_response->first;
    decision.detail = route->direct_response->second;
    return decision;
  }
  decision.pick = pickUpstream(route->clusters, route->picker, cursor++);
  if (decision.pick.endpoint == nullptr) {
    decision.local_reason = LocalReplyReason::kNoHealthyUpstream;
    decision.status = 503;
    decision.detail = decision.pick.cluster != nullptr
                          ? "cluster '" + decision.pick.cluster->name + "' has no endpoints"
                          : "route has no clusters";
    return decision;
  }
  decision.kind = RouteDecision::Kind::kForward;
  return decision;
}

unsigned failureStatus(LocalReplyReason reason) {
  switch (reason) {
    case LocalReplyReason::kUpstreamTimeout:
    case LocalReplyReason::kStreamIdleTimeout:
      return 504;
    case LocalReplyReason::kUpstreamReset:
      return 502;
    case LocalReplyReason::kBadRequest:
      return 400;
    default:
      return 503;
  }
}

std::string makeRequestId(uint32_t worker_index, uint64_t sequence) {
  char text[40];
  std::snprintf(text, sizeof(text), "%08x-%016llx", worker_index,
                static_cast<unsigned long long>(sequence));
  return text;
}

}  // namespace weft::proxy
