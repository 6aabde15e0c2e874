#include "proxy/authz/policy_compiler.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <utility>

#include "common/config/field_path.h"
#include "common/text/ascii.h"

namespace weft::proxy::authz {
namespace {

using config::appendField;
using config::appendIndex;
using Attribute = ConditionMatch::Attribute;

constexpr std::string_view kHeaderKeyStart = "request.headers[";

bool isTokenCharacter(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// The attribute a condition key names, with the header name for request.headers[<name>].
std::optional<Attribute> parseConditionKey(std::string_view key, std::string& header_name) {
  static constexpr std::pair<std::string_view, Attribute> kKeys[] = {
      {"source.ip", Attribute::kSourceIp},
      {"source.principal", Attribute::kSourcePrincipal},
      {"source.namespace", Attribute::kSourceNamespace},
      {"destination.ip", Attribute::kDestinationIp},
      {"destination.port", Attribute::kDestinationPort},
      {"connection.sni", Attribute::kConnectionSni},
  };
  for (const auto& [name, attribute] : kKeys) {
    if (key == name) {
      return attribute;
    }
  }
  if (key.starts_with(kHeaderKeyStart) && key.ends_with(']')) {
    const std::string_view name =
        key.substr(kHeaderKeyStart.size(), key.size() - kHeaderKeyStart.size() - 1);
    if (!name.empty() && std::all_of(name.begin(), name.end(), isTokenCharacter)) {
      header_name = text::lowerCaseAscii(name);
      return Attribute::kRequestHeader;
    }
  }
  return std::nullopt;
}

bool isApiMethod(std::string_view method) {
  return !method.empty() && method.front() >= 'A' && method.front() <= 'Z' &&
         std::all_of(method.begin(), method.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || c == '_' || c == '-'; });
}

class PolicyCompiler {
 public:
  explicit PolicyCompiler(config::ConfigErrors& errors) : errors_(errors) {}

  CompiledAuthorizationPolicyPtr compile(const weft::v1::AuthorizationPolicy& policy,
                                         std::string_view path) {
    auto compiled = std::make_shared<CompiledAuthorizationPolicy>();
    compiled->name = policy.name();
    if (policy.name().empty()) {
      fail(appendField(path, "name"), "is required");
    }
    switch (policy.action()) {
      case weft::v1::AuthorizationPolicy::ALLOW:
        compiled->action = PolicyAction::kAllow;
        break;
      case weft::v1::AuthorizationPolicy::DENY:
        compiled->action = PolicyAction::kDeny;
        break;
      case weft::v1::AuthorizationPolicy::AUDIT:
        compiled->action = PolicyAction::kAudit;
        break;
      default:
        fail(appendField(path, "action"),
             "unknown action " + std::to_string(static_cast<int>(policy.action())));
    }
    compiled->dry_run = policy.dry_run();
    const std::string rules_path = appendField(path, "rules");
    for (int i = 0; i < policy.rules_size(); ++i) {
      compiled->rules.push_back(rule(policy.rules(i), appendIndex(rules_path, i)));
    }
    if (failed_) {
      return nullptr;
    }
    return compiled;
  }

 private:
  void fail(std::string path, std::string reason) {
    failed_ = true;
    config::ConfigError error;
    error.field_path = std::move(path);
    error.reason = std::move(reason);
    errors_.push_back(std::move(error));
  }

  RuleMatch rule(const weft::v1::AuthorizationPolicy::Rule& proto, const std::string& path) {
    RuleMatch out;
    const std::string from_path = appendField(path, "from");
    for (int i = 0; i < proto.from_size(); ++i) {
      out.from.push_back(source(proto.from(i), appendIndex(from_path, i)));
    }
    const std::string to_path = appendField(path, "to");
    for (int i = 0; i < proto.to_size(); ++i) {
      out.to.push_back(destination(proto.to(i), appendIndex(to_path, i)));
    }
    const std::string when_path = appendField(path, "when");
    for (int i = 0; i < proto.when_size(); ++i) {
      out.when.push_back(condition(proto.when(i), appendIndex(when_path, i)));
    }
    out.uses_http_fields =
        std::any_of(out.to.begin(), out.to.end(),
                    [](const DestinationMatch& to_entry) { return to_entry.usesHttpFields(); }) ||
        std::any_of(out.when.begin(), out.when.end(),
                    [](const ConditionMatch& when) { return when.usesHttpFields(); });
    return out;
  }

  SourceMatch source(const weft::v1::AuthorizationPolicy::Source& proto, const std::string& path) {
    SourceMatch out;
    out.principals = patterns(proto.principals(), appendField(path, "principals"), {});
    out.not_principals = patterns(proto.not_principals(), appendField(path, "not_principals"), {});
    out.namespaces = patterns(proto.namespaces(), appendField(path, "namespaces"), {});
    out.not_namespaces = patterns(proto.not_namespaces(), appendField(path, "not_namespaces"), {});
    out.ip_blocks = blocks(proto.ip_blocks(), appendField(path, "ip_blocks"));
    out.not_ip_blocks = blocks(proto.not_ip_blocks(), appendField(path, "not_ip_blocks"));
    return out;
  }

  DestinationMatch destination(const weft::v1::AuthorizationPolicy::Destination& proto,
                               const std::string& path) {
    DestinationMatch out;
    out.hosts = hosts(proto.hosts(), appendField(path, "hosts"));
    out.not_hosts = hosts(proto.not_hosts(), appendField(path, "not_hosts"));
    out.ports = ports(proto.ports(), appendField(path, "ports"));
    out.not_ports = ports(proto.not_ports(), appendField(path, "not_ports"));
    out.methods = methods(proto.methods(), appendField(path, "methods"));
    out.not_methods = methods(proto.not_methods(), appendField(path, "not_methods"));
    const StringPatternOptions path_options{.exact_allows_trailing_slash = true};
    out.paths = patterns(proto.paths(), appendField(path, "paths"), path_options);
    out.not_paths = patterns(proto.not_paths(), appendField(path, "not_paths"), path_options);
    return out;
  }

  ConditionMatch condition(const weft::v1::AuthorizationPolicy::Condition& proto,
                           const std::string& path) {
    ConditionMatch out;
    const std::optional<Attribute> attribute = parseConditionKey(proto.key(), out.header_name);
    if (!attribute) {
      fail(appendField(path, "key"),
           "unknown attribute \"" + proto.key() +
               "\" (expected request.headers[<name>], source.ip, source.principal, "
               "source.namespace, destination.ip, destination.port or connection.sni)");
      return out;
    }
    out.attribute = *attribute;
    if (proto.values().empty() && proto.not_values().empty()) {
      fail(path, "needs at least one of values and not_values");
    }
    const std::string values_path = appendField(path, "values");
    const std::string not_values_path = appendField(path, "not_values");
    switch (out.attribute) {
      case Attribute::kSourceIp:
      case Attribute::kDestinationIp:
        out.blocks = blocks(proto.values(), values_path);
        out.not_blocks = blocks(proto.not_values(), not_values_path);
        break;
      case Attribute::kDestinationPort:
        out.ports = portTexts(proto.values(), values_path);
        out.not_ports = portTexts(proto.not_values(), not_values_path);
        break;
      case Attribute::kRequestHeader: {
        // A present header may be empty, so "" is a value there.
        const StringPatternOptions options{.allow_empty = true};
        out.patterns = patterns(proto.values(), values_path, options);
        out.not_patterns = patterns(proto.not_values(), not_values_path, options);
        break;
      }
      case Attribute::kConnectionSni: {
        // A server name is a DNS name, compared as the filter chain's server_names are.
        const StringPatternOptions options{.ignore_case = true};
        out.patterns = patterns(proto.values(), values_path, options);
        out.not_patterns = patterns(proto.not_values(), not_values_path, options);
        break;
      }
      case Attribute::kSourcePrincipal:
      case Attribute::kSourceNamespace:
        out.patterns = patterns(proto.values(), values_path, {});
        out.not_patterns = patterns(proto.not_values(), not_values_path, {});
        break;
    }
    return out;
  }

  std::vector<StringPattern> patterns(const google::protobuf::RepeatedPtrField<std::string>& texts,
                                      const std::string& path,
                                      const StringPatternOptions& options) {
    std::vector<StringPattern> out;
    for (int i = 0; i < texts.size(); ++i) {
      std::string error;
      if (std::optional<StringPattern> pattern = StringPattern::parse(texts[i], options, error)) {
        out.push_back(std::move(*pattern));
      } else {
        fail(appendIndex(path, i), error);
      }
    }
    return out;
  }

  std::vector<HostPattern> hosts(const google::protobuf::RepeatedPtrField<std::string>& texts,
                                 const std::string& path) {
    std::vector<HostPattern> out;
    for (int i = 0; i < texts.size(); ++i) {
      std::string error;
      if (std::optional<HostPattern> host = HostPattern::parse(texts[i], error)) {
        out.push_back(std::move(*host));
      } else {
        fail(appendIndex(path, i), error);
      }
    }
    return out;
  }

  std::vector<CidrBlock> blocks(const google::protobuf::RepeatedPtrField<std::string>& texts,
                                const std::string& path) {
    std::vector<CidrBlock> out;
    for (int i = 0; i < texts.size(); ++i) {
      std::string error;
      if (std::optional<CidrBlock> block = CidrBlock::parse(texts[i], error)) {
        out.push_back(*block);
      } else {
        fail(appendIndex(path, i), error);
      }
    }
    return out;
  }

  std::vector<uint16_t> ports(const google::protobuf::RepeatedField<uint32_t>& numbers,
                              const std::string& path) {
    std::vector<uint16_t> out;
    for (int i = 0; i < numbers.size(); ++i) {
      if (numbers[i] < 1 || numbers[i] > 65535) {
        fail(appendIndex(path, i), "port " + std::to_string(numbers[i]) + " is not in 1-65535");
      } else {
        out.push_back(static_cast<uint16_t>(numbers[i]));
      }
    }
    return out;
  }

  // destination.port condition values: decimal text.
  std::vector<uint16_t> portTexts(const google::protobuf::RepeatedPtrField<std::string>& texts,
                                  const std::string& path) {
    std::vector<uint16_t> out;
    for (int i = 0; i < texts.size(); ++i) {
      const std::string& port_text = texts[i];
      uint32_t port = 0;
      const char* end = port_text.data() + port_text.size();
      const auto [rest, status] = std::from_chars(port_text.data(), end, port);
      if (port_text.empty() || status != std::errc() || rest != end || port < 1 || port > 65535) {
        fail(appendIndex(path, i), "not a port number (1-65535): \"" + port_text + "\"");
      } else {
        out.push_back(static_cast<uint16_t>(port));
      }
    }
    return out;
  }

  std::vector<std::string> methods(const google::protobuf::RepeatedPtrField<std::string>& texts,
                                   const std::string& path) {
    std::vector<std::string> out;
    for (int i = 0; i < texts.size(); ++i) {
      if (isApiMethod(texts[i])) {
        out.push_back(texts[i]);
      } else {
        fail(appendIndex(path, i),
             "not a method name in upper case (\"GET\"): \"" + texts[i] + "\"");
      }
    }
    return out;
  }

  config::ConfigErrors& errors_;
  bool failed_ = false;
};

}  // namespace

CompiledAuthorizationPolicyPtr compileAuthorizationPolicy(
    const weft::v1::AuthorizationPolicy& policy, std::string_view path,
    config::ConfigErrors& errors) {
  return PolicyCompiler(errors).compile(policy, path);
}

}  // namespace weft::proxy::authz
