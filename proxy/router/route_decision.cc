#include "proxy/router/route_decision.h"

#include <chrono>
#include <cstdio>

#include "proxy/upstream/lb/hash.h"

namespace weft::proxy {
namespace {

// Host and port of an authority ("example.com:8080", "[fd00::1]:80"); port
// empty when absent.
void splitAuthority(std::string_view authority, std::string_view& host, std::string_view& port) {
  const size_t colon = authority.rfind(':');
  const size_t bracket = authority.rfind(']');
  if (colon == std::string_view::npos || (bracket != std::string_view::npos && colon < bracket)) {
    host = authority;
    port = {};
    return;
  }
  host = authority.substr(0, colon);
  port = authority.substr(colon + 1);
}

std::string redirectLocation(const RedirectConfig& redirect, const RouteEntry& route,
                             const RequestView& request) {
  const std::string_view scheme = !redirect.scheme.empty()  ? std::string_view(redirect.scheme)
                                  : !request.scheme.empty() ? request.scheme
                                                            : std::string_view("http");
  std::string_view request_host;
  std::string_view request_port;
  splitAuthority(request.authority, request_host, request_port);
  std::string location(scheme);
  location.append("://").append(redirect.host.empty() ? request_host : redirect.host);
  const std::string port =
      redirect.port != 0 ? std::to_string(redirect.port) : std::string(request_port);
  const bool default_port =
      (scheme == "http" && port == "80") || (scheme == "https" && port == "443");
  if (!port.empty() && !default_port) {
    location.append(":").append(port);
  }
  const std::string_view path = request.path();
  if (redirect.has_path) {
    location.append(redirect.path);
  } else if (redirect.has_prefix_rewrite) {
    location.append(redirect.prefix_rewrite)
        .append(path.substr(std::min(path.size(), route.path.size())));
  } else {
    location.append(path);
  }
  const std::string_view query = request.query();
  const bool path_has_query = redirect.has_path && redirect.path.find('?') != std::string::npos;
  if (!redirect.strip_query && !query.empty() && !path_has_query) {
    location.append("?").append(query);
  }
  return location;
}

// The value of cookie `name` in the request's Cookie header(s), if any.
bool findCookie(const RequestView& request, std::string_view name, std::string& scratch,
                std::string_view& value) {
  std::string_view cookies;
  if (!request.findHeader("cookie", scratch, cookies)) {
    return false;
  }
  while (!cookies.empty()) {
    const size_t end = cookies.find(';');
    std::string_view pair = cookies.substr(0, end);
    cookies = end == std::string_view::npos ? std::string_view() : cookies.substr(end + 1);
    while (!pair.empty() && pair.front() == ' ') {
      pair.remove_prefix(1);
    }
    const size_t equals = pair.find('=');
    if (equals != std::string_view::npos && pair.substr(0, equals) == name) {
      value = pair.substr(equals + 1);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return true;
    }
  }
  return false;
}

// The request hash of the route's hash policies (Envoy's combination: rotate
// the hash so far, xor the next), or none when no policy produced one. A cookie
// policy with a ttl makes up a cookie for a request without one and asks for it
// to be set on the response, so the client sticks from its next request on.
std::optional<uint64_t> requestHash(const std::vector<HashPolicyConfig>& policies,
                                    const RequestView& request, uint64_t entropy,
                                    std::string& set_cookie) {
  std::optional<uint64_t> hash;
  std::string scratch;
  for (const HashPolicyConfig& policy : policies) {
    std::optional<uint64_t> one;
    std::string_view value;
    switch (policy.kind) {
      case HashPolicyConfig::Kind::kHeader:
        if (request.findHeader(policy.name, scratch, value)) {
          one = lb::hashKey(value);
        }
        break;
      case HashPolicyConfig::Kind::kCookie:
        if (findCookie(request, policy.name, scratch, value)) {
          one = lb::hashKey(value);
        } else if (policy.generate_cookie) {
          char text[17];
          std::snprintf(text, sizeof(text), "%016llx",
                        static_cast<unsigned long long>(lb::mix64(entropy)));
          one = lb::hashKey(text);
          set_cookie = policy.name + "=\"" + text + "\"; Path=" + policy.cookie_path;
          if (policy.cookie_ttl.count() > 0) {
            set_cookie += "; Max-Age=" + std::to_string(policy.cookie_ttl.count());
          }
          set_cookie += "; HttpOnly";
        }
        break;
      case HashPolicyConfig::Kind::kSourceIp:
        if (!request.source.is_unspecified()) {
          if (request.source.is_v4()) {
            const auto bytes = request.source.to_v4().to_bytes();
            one = lb::hashKey(
                std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
          } else {
            const auto bytes = request.source.to_v6().to_bytes();
            one = lb::hashKey(
                std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
          }
        }
        break;
      case HashPolicyConfig::Kind::kQueryParameter: {
        std::string_view query = request.query();
        std::string name_scratch;
        while (!query.empty()) {
          const size_t amp = query.find('&');
          const std::string_view pair = query.substr(0, amp);
          query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
          const size_t equals = pair.find('=');
          if (percentDecode(pair.substr(0, equals), name_scratch) == policy.name) {
            const std::string_view raw =
                equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
            one = lb::hashKey(percentDecode(raw, scratch));
            break;
          }
        }
        break;
      }
    }
    if (one) {
      hash = hash ? (((*hash << 1) | (*hash >> 63)) ^ *one) : *one;
      if (policy.terminal) {
        break;
      }
    }
  }
  return hash;
}

}  // namespace

bool rewriteTarget(const RouteEntry& route, std::string_view target, std::string& out) {
  const size_t mark = target.find('?');
  const std::string_view path = target.substr(0, mark);
  const std::string_view query =
      mark == std::string_view::npos ? std::string_view() : target.substr(mark);
  if (route.has_prefix_rewrite) {
    std::string_view rest = path.substr(std::min(path.size(), route.path.size()));
    out.assign(route.prefix_rewrite);
    // "/api" -> "/" on "/api/users" must give "/users", not "//users".
    if (!out.empty() && out.back() == '/' && !rest.empty() && rest.front() == '/') {
      rest.remove_prefix(1);
    }
    out.append(rest);
    if (out.empty() || out.front() != '/') {
      out.insert(out.begin(), '/');
    }
    out.append(query);
    return true;
  }
  if (route.regex_rewrite) {
    out.assign(path);
    RE2::GlobalReplace(&out, *route.regex_rewrite, route.regex_substitution);
    out.append(query);
    return true;
  }
  return false;
}

RouteDecision decideRoute(const HttpChainConfig& http, const RequestView& request,
                          uint32_t worker_index, uint64_t& cursor) {
  RouteDecision decision;
  if (http.routes != nullptr) {
    decision.request_mutations.add(http.routes->request_headers);
    decision.response_mutations.add(http.routes->response_headers);
  }
  const VirtualHostConfig* vhost =
      http.routes != nullptr ? http.routes->findVirtualHost(request.authority) : nullptr;
  const RouteEntry* route = nullptr;
  if (vhost != nullptr) {
    decision.request_mutations.add(vhost->request_headers);
    decision.response_mutations.add(vhost->response_headers);
    route = RouteTable::findRoute(*vhost, request);
  }
  decision.route = route;
  if (route == nullptr) {
    decision.local_reason = LocalReplyReason::kNoRoute;
    decision.status = 404;
    decision.detail = "no route for host '" + std::string(request.authority) + "' and path '" +
                      std::string(request.target) + "'";
    return decision;
  }
  decision.request_mutations.add(route->request_headers);
  decision.response_mutations.add(route->response_headers);
  if (route->direct_response) {
    decision.local_reason = LocalReplyReason::kDirectResponse;
    decision.status = route->direct_response->first;
    decision.detail = route->direct_response->second;
    return decision;
  }
  if (route->redirect) {
    decision.local_reason = LocalReplyReason::kRedirect;
    decision.status = route->redirect->status;
    decision.location = redirectLocation(*route->redirect, *route, request);
    return decision;
  }
  const WeightedClusterRef* backend = pickBackend(route->clusters, route->picker, cursor++);
  if (backend == nullptr) {
    decision.local_reason = LocalReplyReason::kNoHealthyUpstream;
    decision.status = 503;
    decision.detail = "route has no clusters";
    return decision;
  }
  decision.backend = backend;
  decision.cluster = backend->cluster;
  decision.request_mutations.add(backend->request_headers);
  decision.response_mutations.add(backend->response_headers);
  std::optional<uint64_t> hash;
  if (backend->cluster->hash_based && !route->hash_policies.empty()) {
    hash = requestHash(
        route->hash_policies, request,
        cursor ^ (uint64_t{worker_index} << 56) ^
            static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()),
        decision.set_cookie);
  }
  decision.hash = hash;
  decision.host = chooseHost(*backend->cluster, worker_index, hash);
  if (decision.host == nullptr) {
    decision.local_reason = LocalReplyReason::kNoHealthyUpstream;
    decision.status = 503;
    decision.detail = "cluster '" + backend->cluster->name + "' has no healthy endpoints";
    return decision;
  }
  decision.kind = RouteDecision::Kind::kForward;
  return decision;
}

LocalResponse makeDecisionReply(const RouteDecision& decision, unsigned http_version,
                                bool keep_alive, bool head_request) {
  LocalResponse reply = makeLocalReply(decision.local_reason, decision.status, decision.detail,
                                       http_version, keep_alive, head_request);
  if (!decision.location.empty()) {
    reply.set(boost::beast::http::field::location, decision.location);
  }
  decision.response_mutations.apply(reply.base());
  return reply;
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
