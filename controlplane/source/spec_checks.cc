#include "controlplane/source/spec_checks.h"

#include <arpa/inet.h>
#include <re2/re2.h>

#include <map>
#include <string>

#include "common/config/field_path.h"

namespace weft::controlplane {
namespace {

using config::appendField;
using config::appendIndex;
using config::appendKey;
using config::ConfigError;
using config::ConfigErrors;
namespace mesh = weft::mesh::v1alpha1;

void addError(ConfigErrors& errors, std::string path, std::string reason) {
  errors.push_back(ConfigError{"", std::move(path), 0, 0, std::move(reason)});
}

// The proxy compiles these expressions with RE2 when it receives the route; a bad one found
// here is reported against the manifest instead of being rejected by every proxy.
void checkRegex(const std::string& pattern, const std::string& path, ConfigErrors& errors) {
  RE2::Options options;
  options.set_log_errors(false);
  const RE2 regex(pattern, options);
  if (!regex.ok()) {
    addError(errors, path, "invalid RE2 regular expression: " + regex.error());
  }
}

void checkMatch(const mesh::HttpMatch& match, const std::string& path, ConfigErrors& errors) {
  if (match.path().kind_case() == mesh::PathMatch::kRegex) {
    checkRegex(match.path().regex(), appendField(appendField(path, "path"), "regex"), errors);
  }
  for (int h = 0; h < match.headers_size(); ++h) {
    if (match.headers(h).header_match_case() == weft::v1::HeaderMatcher::kRegex) {
      checkRegex(match.headers(h).regex(),
                 appendField(appendIndex(appendField(path, "headers"), h), "regex"), errors);
    }
  }
  for (int q = 0; q < match.query_params_size(); ++q) {
    if (match.query_params(q).query_match_case() == weft::v1::QueryParameterMatcher::kRegex) {
      checkRegex(match.query_params(q).regex(),
                 appendField(appendIndex(appendField(path, "query_params"), q), "regex"), errors);
    }
  }
}

void checkRule(const mesh::HttpRouteRule& rule, const std::string& path, ConfigErrors& errors) {
  const std::string backends_path = appendField(path, "backends");
  if (rule.backends_size() > 1) {
    // A split needs every weight: an omitted one would be ambiguous (0? an equal share?).
    bool all_weighted = true;
    bool any_positive = false;
    for (int b = 0; b < rule.backends_size(); ++b) {
      const mesh::WeightedBackend& backend = rule.backends(b);
      if (!backend.has_weight()) {
        all_weighted = false;
        addError(errors, appendField(appendIndex(backends_path, b), "weight"),
                 "is required: when a rule has more than one backend, every backend must set "
                 "weight");
      } else if (backend.weight().value() > 0) {
        any_positive = true;
      }
    }
    if (all_weighted && !any_positive) {
      addError(errors, backends_path,
               "the weights of a rule's backends must not all be 0 (their sum must be "
               "positive)");
    }
  }
  if (!rule.rewrite().path_prefix().empty()) {
    bool all_prefix = rule.matches_size() > 0;
    for (const mesh::HttpMatch& match : rule.matches()) {
      all_prefix &= match.path().kind_case() == mesh::PathMatch::kPrefix;
    }
    if (!all_prefix) {
      addError(errors, appendField(appendField(path, "rewrite"), "path_prefix"),
               "rewrite.pathPrefix replaces the matched prefix, so every match of the rule must "
               "have a path prefix");
    }
  }
  for (int m = 0; m < rule.matches_size(); ++m) {
    checkMatch(rule.matches(m), appendIndex(appendField(path, "matches"), m), errors);
  }
}

void checkLoadBalancer(const mesh::TrafficPolicy& policy, const std::string& path,
                       ConfigErrors& errors) {
  const mesh::LoadBalancer& balancer = policy.load_balancer();
  const bool hashing = balancer.algorithm() == mesh::LoadBalancer::RING_HASH ||
                       balancer.algorithm() == mesh::LoadBalancer::MAGLEV;
  if (hashing && !balancer.has_consistent_hash()) {
    addError(errors, appendField(appendField(path, "load_balancer"), "consistent_hash"),
             "is required when algorithm is " +
                 mesh::LoadBalancer::Algorithm_Name(balancer.algorithm()) +
                 " (consistent hashing needs a key: header, cookie, sourceIp or queryParam)");
  }
}

}  // namespace

ConfigErrors checkTrafficRoute(const mesh::TrafficRouteSpec& spec) {
  ConfigErrors errors;
  for (int r = 0; r < spec.rules_size(); ++r) {
    checkRule(spec.rules(r), appendIndex("rules", r), errors);
  }
  return errors;
}

ConfigErrors checkDestinationPolicy(const mesh::DestinationPolicySpec& spec) {
  ConfigErrors errors;
  if (spec.has_traffic_policy()) {
    checkLoadBalancer(spec.traffic_policy(), "traffic_policy", errors);
  }
  std::map<std::string, int> first_use;
  for (int s = 0; s < spec.subsets_size(); ++s) {
    const mesh::Subset& subset = spec.subsets(s);
    const std::string path = appendIndex("subsets", s);
    if (subset.has_traffic_policy()) {
      checkLoadBalancer(subset.traffic_policy(), appendField(path, "traffic_policy"), errors);
    }
    const auto [it, inserted] = first_use.emplace(subset.name(), s);
    if (!inserted) {
      addError(errors, appendField(path, "name"),
               "subset names must be unique: \"" + subset.name() + "\" is also subsets[" +
                   std::to_string(it->second) + "]");
    }
  }
  return errors;
}

ConfigErrors checkPeerAuthentication(const mesh::PeerAuthenticationSpec& spec) {
  ConfigErrors errors;
  if (spec.port_modes_size() > 0 && !spec.has_selector()) {
    addError(errors, "port_modes",
             "portModes requires a selector: per-port modes apply to selected workloads only");
  }
  for (const auto& [port, mode] : spec.port_modes()) {
    if (port < 1 || port > 65535) {
      addError(errors, appendKey("port_modes", std::to_string(port)),
               "the keys of portModes must be port numbers from 1 to 65535, got " +
                   std::to_string(port));
    }
  }
  return errors;
}

ConfigErrors checkMeshConfig(const mesh::MeshConfigSpec& spec) {
  ConfigErrors errors;
  if (spec.tracing().exporter() != mesh::Tracing::NONE && spec.tracing().collector().empty()) {
    addError(errors, "tracing.collector", "collector is required when an exporter is set");
  }
  return errors;
}

ConfigErrors checkWorkload(const mesh::WorkloadSpec& spec) {
  ConfigErrors errors;
  if (!spec.address().empty()) {
    unsigned char buffer[16];
    if (::inet_pton(AF_INET, spec.address().c_str(), buffer) != 1 &&
        ::inet_pton(AF_INET6, spec.address().c_str(), buffer) != 1) {
      addError(errors, "address",
               "\"" + spec.address() +
                   "\" is not an IP address: write an IPv4 (10.0.0.5) or IPv6 (fd00::5) "
                   "literal");
    }
  }
  if (spec.has_sidecar() && spec.traffic_capture()) {
    addError(errors, "traffic_capture",
             "a workload's proxy either captures its traffic (trafficCapture) or listens on "
             "ports of its own (sidecar), not both");
  }
  std::map<uint32_t, int> ports;
  std::map<std::string, int> names;
  for (int p = 0; p < spec.ports_size(); ++p) {
    const mesh::WorkloadPort& port = spec.ports(p);
    const std::string path = appendIndex("ports", p);
    if (const auto [it, inserted] = ports.emplace(port.port(), p); !inserted) {
      addError(errors, appendField(path, "port"),
               "port numbers must be unique: " + std::to_string(port.port()) + " is also ports[" +
                   std::to_string(it->second) + "]");
    }
    if (!port.name().empty()) {
      if (const auto [it, inserted] = names.emplace(port.name(), p); !inserted) {
        addError(errors, appendField(path, "name"),
                 "port names must be unique: \"" + port.name() + "\" is also ports[" +
                     std::to_string(it->second) + "]");
      }
    }
    if (spec.has_sidecar() && port.port() == spec.sidecar().inbound_port()) {
      addError(errors, appendField(path, "port"),
               "sidecar.inboundPort must differ from the application's ports (both are " +
                   std::to_string(port.port()) + ")");
    }
  }
  return errors;
}

}  // namespace weft::controlplane
