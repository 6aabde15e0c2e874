#include "controlplane/translate/http_routes.h"

#include <re2/re2.h>

#include <algorithm>
#include <optional>

#include "controlplane/translate/clusters.h"
#include "controlplane/translate/names.h"

namespace weft::controlplane {
namespace {

using weft::mesh::v1alpha1::HttpMatch;
using weft::mesh::v1alpha1::HttpRouteRule;
using weft::mesh::v1alpha1::WeightedBackend;

// Largest weight of one backend of a split (WeightedClusters.ClusterWeight.weight).
constexpr uint32_t kMaxWeight = 1'000'000;

const HostRoutes kNoRoutes;
const std::vector<ServiceId> kNoServices;

std::string quoted(std::string_view text) {
  return "\"" + std::string(text) + "\"";
}

std::string regexError(const std::string& pattern) {
  RE2::Options options;
  options.set_log_errors(false);
  RE2 regex(pattern, options);
  return regex.ok() ? std::string() : regex.error();
}

bool isTokenChar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
    return true;
  }
  return std::string_view("!#$%&'*+.^_`|~-").find(c) != std::string_view::npos;
}

// Why the proxy would refuse to change this header, or empty. These are the names the
// proxy's header mutation rejects: the authority has host_rewrite, the framing and
// connection headers belong to each hop.
std::string headerNameError(const std::string& name) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), isTokenChar)) {
    return "header name " + quoted(name) + " is not an HTTP token";
  }
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static constexpr std::string_view kFixed[] = {
      "host",    "content-length",     "connection",        "keep-alive",
      "te",      "proxy-connection",   "transfer-encoding", "upgrade",
      "trailer", "proxy-authenticate", "http2-settings",    "proxy-authorization"};
  if (std::find(std::begin(kFixed), std::end(kFixed), lower) != std::end(kFixed)) {
    return "header " + quoted(name) + " cannot be changed by a rewrite" +
           (lower == "host" ? " (use rewrite.authority)" : " (each hop sets it)");
  }
  return {};
}

std::string headerValueError(const std::string& name, const std::string& value) {
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
    return "the value of header " + quoted(name) + " contains CR, LF or NUL";
  }
  return {};
}

template <class Map>
std::vector<std::pair<std::string, std::string>> sortedEntries(const Map& map) {
  std::vector<std::pair<std::string, std::string>> entries(map.begin(), map.end());
  std::sort(entries.begin(), entries.end());
  return entries;
}

std::string headerMutation(const weft::mesh::v1alpha1::HeaderRewrite& rewrite,
                           weft::v1::HeaderMutation& out) {
  for (const auto& [name, value] : sortedEntries(rewrite.set())) {
    if (std::string error = headerNameError(name); !error.empty()) {
      return error;
    }
    if (std::string error = headerValueError(name, value); !error.empty()) {
      return error;
    }
    auto& header = *out.add_set();
    header.set_name(name);
    header.set_value(value);
  }
  for (const auto& [name, value] : sortedEntries(rewrite.add())) {
    if (std::string error = headerNameError(name); !error.empty()) {
      return error;
    }
    if (std::string error = headerValueError(name, value); !error.empty()) {
      return error;
    }
    auto& header = *out.add_append();
    header.set_name(name);
    header.set_value(value);
  }
  for (const std::string& name : rewrite.remove()) {
    if (std::string error = headerNameError(name); !error.empty()) {
      return error;
    }
    if (std::find(out.remove().begin(), out.remove().end(), name) == out.remove().end()) {
      out.add_remove(name);
    }
  }
  return {};
}

std::optional<weft::v1::RetryPolicy::RetryOn> retryOn(const std::string& condition) {
  using weft::v1::RetryPolicy;
  static const std::pair<std::string_view, RetryPolicy::RetryOn> kConditions[] = {
      {"5xx", RetryPolicy::HTTP_5XX},
      {"gateway-error", RetryPolicy::GATEWAY_ERROR},
      {"reset", RetryPolicy::RESET},
      {"connect-failure", RetryPolicy::CONNECT_FAILURE},
      {"refused-stream", RetryPolicy::REFUSED_STREAM},
      {"retriable-4xx", RetryPolicy::RETRIABLE_4XX},
      {"cancelled", RetryPolicy::GRPC_CANCELLED},
      {"deadline-exceeded", RetryPolicy::GRPC_DEADLINE_EXCEEDED},
      {"resource-exhausted", RetryPolicy::GRPC_RESOURCE_EXHAUSTED},
      {"unavailable", RetryPolicy::GRPC_UNAVAILABLE},
      {"internal", RetryPolicy::GRPC_INTERNAL},
  };
  for (const auto& [name, value] : kConditions) {
    if (name == condition) {
      return value;
    }
  }
  return std::nullopt;
}

// The route's retry policy: the rule's retries, else the mesh default. None when neither is
// given or attempts is 0: retries are off unless someone asked for them.
std::string retryPolicy(const weft::mesh::v1alpha1::Retries* retries,
                        weft::v1::RouteAction& action) {
  if (retries == nullptr || (retries->has_attempts() && retries->attempts().value() == 0)) {
    return {};
  }
  weft::v1::RetryPolicy policy;
  if (retries->retry_on().empty()) {
    policy.add_retry_on(weft::v1::RetryPolicy::CONNECT_FAILURE);
    policy.add_retry_on(weft::v1::RetryPolicy::REFUSED_STREAM);
    policy.add_retry_on(weft::v1::RetryPolicy::RESET);
  }
  for (const std::string& condition : retries->retry_on()) {
    const auto value = retryOn(condition);
    if (!value) {
      return "retries.retryOn " + quoted(condition) + " is not a known condition";
    }
    policy.add_retry_on(*value);
  }
  if (retries->has_attempts()) {
    policy.mutable_num_retries()->set_value(retries->attempts().value());
  }
  if (retries->has_per_try_timeout()) {
    *policy.mutable_per_try_timeout() = retries->per_try_timeout();
  }
  if (retries->has_backoff()) {
    *policy.mutable_backoff()->mutable_base_interval() = retries->backoff();
  }
  *action.mutable_retry_policy() = std::move(policy);
  return {};
}

weft::v1::FaultInjection faultInjection(const weft::mesh::v1alpha1::FaultInjection& fault) {
  weft::v1::FaultInjection out;
  if (fault.has_delay()) {
    *out.mutable_delay()->mutable_fixed_delay() = fault.delay().fixed_delay();
    if (fault.delay().has_percentage()) {
      *out.mutable_delay()->mutable_percentage() = fault.delay().percentage();
    }
  }
  if (fault.has_abort()) {
    out.mutable_abort()->set_http_status(fault.abort().http_status());
    if (fault.abort().has_percentage()) {
      *out.mutable_abort()->mutable_percentage() = fault.abort().percentage();
    }
  }
  return out;
}

void addHashPolicies(const std::vector<weft::v1::HashPolicy>& policies,
                     weft::v1::RouteAction& action) {
  for (const auto& policy : policies) {
    const bool known =
        std::any_of(action.hash_policy().begin(), action.hash_policy().end(),
                    [&](const weft::v1::HashPolicy& existing) {
                      return existing.SerializeAsString() == policy.SerializeAsString();
                    });
    if (!known) {
      *action.add_hash_policy() = policy;
    }
  }
}

template <class Matcher>
std::string matcherError(const Matcher& matcher, std::string_view kind) {
  if (matcher.has_regex()) {
    if (std::string error = regexError(matcher.regex()); !error.empty()) {
      return std::string(kind) + " " + quoted(matcher.name()) + ": invalid regex: " + error;
    }
  }
  return {};
}

// One rule of one TrafficRoute, translated for one host port: the defaults of a backend
// (service and port) are the host's.
class RuleTranslation {
 public:
  RuleTranslation(const ServiceCatalog& catalog, const MeshSettings& settings,
                  const TrafficRoute& route, ServiceId host, const ServicePort& port)
      : catalog_(catalog), settings_(settings), route_(route), host_(host), port_(port) {}

  // Appends the rule's routes to `out` and the services they use to `destinations`, or
  // returns why the rule cannot be translated (and changes nothing).
  std::string translate(const HttpRouteRule& rule, const std::string& name,
                        std::vector<weft::v1::Route>& out, std::vector<ServiceId>& destinations) {
    std::vector<ServiceId> used{host_};
    weft::v1::Route route;
    route.set_name(name);
    (*route.mutable_metadata())["source"] =
        "TrafficRoute " + objectKey(route_.meta.namespace_, route_.meta.name);
    auto& action = *route.mutable_route();
    if (std::string error = backends(rule, action, used); !error.empty()) {
      return error;
    }
    if (rule.has_timeout()) {
      *action.mutable_timeout() = rule.timeout();
    }
    const auto* retries = rule.has_retries()          ? &rule.retries()
                          : settings_.default_retries ? &*settings_.default_retries
                                                      : nullptr;
    if (std::string error = retryPolicy(retries, action); !error.empty()) {
      return error;
    }
    if (rule.has_mirror()) {
      Target target;
      if (std::string error = resolve(rule.mirror().backend(), target); !error.empty()) {
        return "mirror: " + error;
      }
      auto& mirror = *action.add_request_mirror_policies();
      mirror.set_cluster(target.cluster);
      if (rule.mirror().has_percentage()) {
        *mirror.mutable_percentage() = rule.mirror().percentage();
      }
      used.push_back(target.service);
    }
    if (rule.has_fault()) {
      *route.mutable_fault() = faultInjection(rule.fault());
    }
    if (std::string error =
            headerMutation(rule.request_headers(), *route.mutable_request_headers());
        !error.empty()) {
      return "requestHeaders: " + error;
    }
    if (std::string error =
            headerMutation(rule.response_headers(), *route.mutable_response_headers());
        !error.empty()) {
      return "responseHeaders: " + error;
    }
    if (route.request_headers().ByteSizeLong() == 0) {
      route.clear_request_headers();
    }
    if (route.response_headers().ByteSizeLong() == 0) {
      route.clear_response_headers();
    }
    if (!rule.rewrite().authority().empty()) {
      action.set_host_rewrite(rule.rewrite().authority());
    }
    if (!rule.rewrite().path_prefix().empty()) {
      action.set_prefix_rewrite(rule.rewrite().path_prefix());
    }
    std::vector<weft::v1::RouteMatch> matches;
    if (rule.matches().empty()) {
      matches.emplace_back().set_prefix("/");
    }
    for (int i = 0; i < rule.matches_size(); ++i) {
      if (std::string error = match(rule.matches(i), matches.emplace_back()); !error.empty()) {
        return "match " + std::to_string(i) + ": " + error;
      }
    }
    if (!rule.rewrite().path_prefix().empty()) {
      for (size_t i = 0; i < matches.size(); ++i) {
        if (matches[i].has_path() || matches[i].has_regex()) {
          return "rewrite.pathPrefix replaces a matched prefix, but match " + std::to_string(i) +
                 " matches an exact path or a regex";
        }
      }
    }
    // One route per match entry, all with the same name and action: the rule is one unit in
    // metrics and access logs however many alternatives it matches.
    for (auto& entry : matches) {
      *route.mutable_match() = std::move(entry);
      out.push_back(route);
    }
    destinations.insert(destinations.end(), used.begin(), used.end());
    return {};
  }

 private:
  struct Target {
    ServiceId service = 0;
    std::string cluster;
    std::vector<weft::v1::HashPolicy> hash_policies;
  };

  std::string resolve(const WeightedBackend& backend, Target& out) const {
    ServiceId id = host_;
    if (!backend.service().empty()) {
      const auto found = catalog_.resolveHost(backend.service(), route_.meta.namespace_);
      if (!found) {
        return "service " + quoted(backend.service()) + " is not a known service";
      }
      id = *found;
    }
    const CatalogService& service = catalog_.service(id);
    const uint32_t port = backend.port() != 0 ? backend.port() : port_.port;
    const ServicePort* service_port = ServiceCatalog::findPort(*service.service, port);
    if (service_port == nullptr) {
      return service.fqdn + " has no port " + std::to_string(port);
    }
    if (!isHttp(service_port->protocol)) {
      return "port " + std::to_string(port) + " of " + service.fqdn +
             " is a TCP port; HTTP requests cannot be sent to it";
    }
    const weft::mesh::v1alpha1::Subset* subset = nullptr;
    if (!backend.subset().empty()) {
      subset = ServiceCatalog::findSubset(service, backend.subset());
      if (subset == nullptr) {
        return "subset " + quoted(backend.subset()) + " of " + service.fqdn +
               (service.policy != nullptr
                    ? " is not defined by DestinationPolicy " +
                          objectKey(service.policy->meta.namespace_, service.policy->meta.name)
                    : " is not defined: no DestinationPolicy names the service");
      }
    }
    out.service = id;
    out.cluster = outboundClusterName(service.fqdn, port, backend.subset());
    out.hash_policies = hashPolicies(effectiveTrafficPolicy(service, subset));
    return {};
  }

  std::string backends(const HttpRouteRule& rule, weft::v1::RouteAction& action,
                       std::vector<ServiceId>& used) const {
    if (rule.backends().empty()) {
      // The host's own port: it exists and is HTTP (only those get routes), so this resolves.
      Target target;
      resolve(WeightedBackend(), target);
      action.set_cluster(target.cluster);
      addHashPolicies(target.hash_policies, action);
      return {};
    }
    std::vector<std::pair<std::string, uint64_t>> split;
    uint64_t total = 0;
    for (int i = 0; i < rule.backends_size(); ++i) {
      const WeightedBackend& backend = rule.backends(i);
      Target target;
      if (std::string error = resolve(backend, target); !error.empty()) {
        return "backend " + std::to_string(i) + ": " + error;
      }
      if (rule.backends_size() > 1 && !backend.has_weight()) {
        return "backend " + std::to_string(i) +
               " has no weight; with several backends every weight must be given";
      }
      const uint64_t weight = backend.weight().value();
      auto same = std::find_if(split.begin(), split.end(),
                               [&](const auto& entry) { return entry.first == target.cluster; });
      if (same == split.end()) {
        split.emplace_back(target.cluster, weight);
      } else {
        same->second += weight;  // two backends naming one cluster share its weight
      }
      total += weight;
      used.push_back(target.service);
      addHashPolicies(target.hash_policies, action);
    }
    if (split.size() == 1) {
      action.set_cluster(split.front().first);
      return {};
    }
    if (total == 0) {
      return "the backends' weights add up to 0";
    }
    for (const auto& [cluster, weight] : split) {
      if (weight > kMaxWeight) {
        return "the weight of " + cluster + " is above " + std::to_string(kMaxWeight);
      }
      auto& entry = *action.mutable_weighted_clusters()->add_clusters();
      entry.set_name(cluster);
      entry.set_weight(static_cast<uint32_t>(weight));
    }
    return {};
  }

  static std::string match(const HttpMatch& match, weft::v1::RouteMatch& out) {
    const auto& path = match.path();
    switch (path.kind_case()) {
      case weft::mesh::v1alpha1::PathMatch::kExact:
        out.set_path(path.exact());
        break;
      case weft::mesh::v1alpha1::PathMatch::kPrefix:
        if (path.prefix().find_first_of("?#") != std::string::npos) {
          return "path prefix " + quoted(path.prefix()) +
                 " can never match: paths are compared without the query string";
        }
        // The mesh's prefix matches whole segments ("/api" matches "/api/x", not "/apix");
        // a prefix ending in "/" already does with a plain prefix match.
        if (path.prefix().back() == '/') {
          out.set_prefix(path.prefix());
        } else {
          out.set_path_separated_prefix(path.prefix());
        }
        break;
      case weft::mesh::v1alpha1::PathMatch::kRegex:
        if (std::string error = regexError(path.regex()); !error.empty()) {
          return "invalid path regex: " + error;
        }
        out.set_regex(path.regex());
        break;
      case weft::mesh::v1alpha1::PathMatch::KIND_NOT_SET:
        out.set_prefix("/");
        break;
    }
    for (const auto& header : match.headers()) {
      if (std::string error = matcherError(header, "header"); !error.empty()) {
        return error;
      }
      if (header.has_range() && header.range().end() <= header.range().start()) {
        return "header " + quoted(header.name()) + ": range end must be greater than start";
      }
      *out.add_headers() = header;
    }
    for (const auto& parameter : match.query_params()) {
      if (std::string error = matcherError(parameter, "query parameter"); !error.empty()) {
        return error;
      }
      *out.add_query_parameters() = parameter;
    }
    if (!match.method().empty()) {
      out.add_methods(match.method());
    }
    return {};
  }

  const ServiceCatalog& catalog_;
  const MeshSettings& settings_;
  const TrafficRoute& route_;
  ServiceId host_;
  const ServicePort& port_;
};

void sortUnique(std::vector<ServiceId>& ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
}

}  // namespace

weft::v1::Route defaultRoute(const std::string& cluster,
                             const std::vector<weft::v1::HashPolicy>& hash_policies,
                             const MeshSettings& settings) {
  weft::v1::Route route;
  route.set_name("default");
  route.mutable_match()->set_prefix("/");
  auto& action = *route.mutable_route();
  action.set_cluster(cluster);
  addHashPolicies(hash_policies, action);
  // The mesh-wide default retries apply to all of a service's traffic, not only to rules.
  retryPolicy(settings.default_retries ? &*settings.default_retries : nullptr, action);
  return route;
}

HttpRouteTable::HttpRouteTable(const MeshModel& model, const ServiceCatalog& catalog,
                               const MeshSettings& settings, ProblemLog& problems)
    : catalog_(catalog), settings_(settings) {
  claimPorts(model, problems);
  for (ServiceId id = 0; id < catalog.services().size(); ++id) {
    for (const ServicePort& port : catalog.service(id).service->ports) {
      if (!isHttp(port.protocol)) {
        continue;
      }
      auto claim = claims_.find({id, port.port});
      const TrafficRoute* route = claim == claims_.end() ? nullptr : claim->second;
      HostRoutes compiled = compile(route, id, port, problems);
      if (route != nullptr) {
        auto& destinations = namespace_destinations_[route->meta.namespace_];
        destinations.insert(destinations.end(), compiled.destinations.begin(),
                            compiled.destinations.end());
      }
      routes_.emplace(std::make_pair(id, port.port), std::move(compiled));
    }
  }
  for (auto& [namespace_, destinations] : namespace_destinations_) {
    sortUnique(destinations);
  }
}

void HttpRouteTable::claimPorts(const MeshModel& model, ProblemLog& problems) {
  for (const auto& [key, route_object] : model.traffic_routes) {
    const TrafficRoute& route = *route_object;
    const std::string what = "TrafficRoute " + key;
    for (const std::string& host : route.spec.hosts()) {
      const auto id = catalog_.resolveHost(host, route.meta.namespace_);
      if (!id) {
        problems.add(what + ": host " + quoted(host) +
                     " is not a known service; no rules apply to it");
        continue;
      }
      // The host is a destination of the namespace's clients even when no port is routed.
      namespace_destinations_[route.meta.namespace_].push_back(*id);
      const CatalogService& service = catalog_.service(*id);
      std::vector<uint32_t> ports;
      if (route.spec.port() != 0) {
        const ServicePort* port = ServiceCatalog::findPort(*service.service, route.spec.port());
        if (port == nullptr) {
          problems.add(what + ": " + service.fqdn + " has no port " +
                       std::to_string(route.spec.port()) + "; no rules apply to it");
        } else if (!isHttp(port->protocol)) {
          problems.add(what + ": port " + std::to_string(port->port) + " of " + service.fqdn +
                       " is a TCP port; HTTP rules do not apply to it");
        } else {
          ports.push_back(port->port);
        }
      } else {
        for (const ServicePort& port : service.service->ports) {
          if (isHttp(port.protocol)) {
            ports.push_back(port.port);
          }
        }
        if (ports.empty()) {
          problems.add(what + ": " + service.fqdn + " has no HTTP port; no rules apply to it");
        }
      }
      for (uint32_t port : ports) {
        auto [claim, inserted] = claims_.emplace(std::make_pair(*id, port), &route);
        if (!inserted && claim->second != &route) {
          problems.add(what + ": does not apply to " + virtualHostName(service.fqdn, port) +
                       ", which TrafficRoute " +
                       objectKey(claim->second->meta.namespace_, claim->second->meta.name) +
                       " already routes (the first by namespace/name applies)");
        }
      }
    }
  }
}

HostRoutes HttpRouteTable::compile(const TrafficRoute* route, ServiceId id, const ServicePort& port,
                                   ProblemLog& problems) const {
  HostRoutes compiled;
  compiled.destinations.push_back(id);
  const CatalogService& service = catalog_.service(id);
  if (route != nullptr) {
    RuleTranslation translation(catalog_, settings_, *route, id, port);
    const auto& rules = route->spec.rules();
    for (int i = 0; i < rules.size(); ++i) {
      const auto& rule = rules[i];
      const std::string name = ruleRouteName(route->meta.namespace_, route->meta.name, rule.name(),
                                             static_cast<size_t>(i));
      std::string error = translation.translate(rule, name, compiled.routes, compiled.destinations);
      if (!error.empty()) {
        problems.add("TrafficRoute " + objectKey(route->meta.namespace_, route->meta.name) +
                     ": rule " + std::to_string(i) +
                     (rule.name().empty() ? "" : " (" + rule.name() + ")") + " is skipped for " +
                     virtualHostName(service.fqdn, port.port) + ": " + error);
      }
    }
  }
  compiled.routes.push_back(defaultRoute(outboundClusterName(service.fqdn, port.port),
                                         hashPolicies(effectiveTrafficPolicy(service, nullptr)),
                                         settings_));
  sortUnique(compiled.destinations);
  return compiled;
}

const HostRoutes& HttpRouteTable::routesFor(ServiceId service, uint32_t port) const {
  auto it = routes_.find({service, port});
  return it == routes_.end() ? kNoRoutes : it->second;
}

const std::vector<ServiceId>& HttpRouteTable::destinationsOf(const std::string& namespace_) const {
  auto it = namespace_destinations_.find(namespace_);
  return it == namespace_destinations_.end() ? kNoServices : it->second;
}

}  // namespace weft::controlplane
