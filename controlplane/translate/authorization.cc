#include "controlplane/translate/authorization.h"

#include <algorithm>
#include <optional>

#include "controlplane/translate/names.h"
#include "controlplane/translate/peer_authentication.h"
#include "controlplane/translate/service_catalog.h"

namespace weft::controlplane {
namespace {

using Spec = weft::mesh::v1alpha1::AuthorizationPolicySpec;
using google::protobuf::RepeatedPtrField;

// A string pattern the proxy accepts: "*", "*suffix", "prefix*" or an exact value.
bool validPattern(const std::string& value) {
  const size_t stars = std::count(value.begin(), value.end(), '*');
  if (value.empty() || stars > 1) {
    return false;
  }
  return stars == 0 || value.size() == 1 || value.front() == '*' || value.back() == '*';
}

// The narrowest valid pattern that matches everything `value` could mean: what precedes its
// first "*", then "*".
std::string widened(const std::string& value) {
  const size_t star = value.find('*');
  if (value.empty() || star == 0 || star == std::string::npos) {
    return "*";
  }
  return value.substr(0, star) + "*";
}

bool validMethod(const std::string& method) {
  if (method.empty() || method.front() < 'A' || method.front() > 'Z') {
    return false;
  }
  return std::all_of(method.begin(), method.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || c == '_' || c == '-'; });
}

void addUnique(RepeatedPtrField<std::string>& out, const std::string& value) {
  if (std::find(out.begin(), out.end(), value) == out.end()) {
    out.Add(std::string(value));
  }
}

// Translates the values of one field of one source or operation, in the direction the
// policy's action makes safe, reporting what it changes.
class FieldTranslator {
 public:
  FieldTranslator(std::string what, bool broaden, ProblemLog& problems)
      : what_(std::move(what)), broaden_(broaden), problems_(problems) {}

  // A list any of whose values may match. Returns false when the list, non-empty as
  // written, is left empty: it then matches nothing (only when narrowing).
  bool include(const std::string& field, const std::vector<std::string>& values,
               const std::vector<std::string>& reasons, RepeatedPtrField<std::string>& out) {
    for (size_t i = 0; i < values.size(); ++i) {
      const std::string& value = values[i];
      if (reasons[i].empty()) {
        addUnique(out, value);
        continue;
      }
      const std::string where =
          field + "[" + std::to_string(i) + "] \"" + value + "\": " + reasons[i];
      if (broaden_) {
        addUnique(out, widened(value));
        report(where + "; widened to \"" + widened(value) + "\"");
      } else {
        report(where + "; dropped");
      }
    }
    return values.empty() || !out.empty();
  }

  // A list none of whose values may match (not_*). Returns false when narrowing widened a
  // value to "*", which excludes every request: the entry then matches nothing.
  bool exclude(const std::string& field, const RepeatedPtrField<std::string>& values,
               RepeatedPtrField<std::string>& out) {
    bool matches_something = true;
    for (int i = 0; i < values.size(); ++i) {
      const std::string& value = values[i];
      if (validPattern(value)) {
        addUnique(out, value);
        continue;
      }
      const std::string where = field + "[" + std::to_string(i) + "] \"" + value +
                                "\": \"*\" is allowed only alone, at the start or at the end";
      if (broaden_) {
        report(where + "; dropped");
      } else {
        addUnique(out, widened(value));
        matches_something = matches_something && widened(value) != "*";
        report(where + "; widened to \"" + widened(value) + "\"");
      }
    }
    return matches_something;
  }

  void report(const std::string& text) { problems_.add(what_ + text + direction()); }

  bool broaden() const { return broaden_; }

 private:
  std::string direction() const {
    return broaden_ ? " (a DENY or AUDIT rule may match more than written, never less)"
                    : " (an ALLOW rule may match less than written, never more)";
  }

  std::string what_;
  bool broaden_;
  ProblemLog& problems_;
};

std::vector<std::string> patternReasons(const std::vector<std::string>& values) {
  std::vector<std::string> reasons;
  for (const std::string& value : values) {
    reasons.push_back(validPattern(value) ? ""
                                          : "\"*\" is allowed only alone, at the start or at "
                                            "the end");
  }
  return reasons;
}

std::vector<std::string> listOf(const RepeatedPtrField<std::string>& values) {
  return {values.begin(), values.end()};
}

// A source; nullopt when it matches no caller.
std::optional<weft::v1::AuthorizationPolicy::Source> translateSource(
    const weft::mesh::v1alpha1::Source& source, const MeshSettings& settings,
    FieldTranslator& fields) {
  weft::v1::AuthorizationPolicy::Source out;
  // Service accounts and principals name the same attribute, the caller's one identity, so
  // they are alternatives of one list.
  for (int i = 0; i < source.service_accounts_size(); ++i) {
    const std::string& account = source.service_accounts(i);
    const std::string where = "serviceAccounts[" + std::to_string(i) + "] \"" + account + "\": ";
    const size_t slash = account.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == account.size() ||
        account.find('/', slash + 1) != std::string::npos) {
      if (fields.broaden()) {
        addUnique(*out.mutable_principals(), "*");
        fields.report(where +
                      "not of the form <namespace>/<name>; widened to any caller with "
                      "an identity (\"*\")");
      } else {
        fields.report(where + "not of the form <namespace>/<name>; dropped");
      }
      continue;
    }
    const std::string principal =
        spiffeId(settings.trust_domain, account.substr(0, slash), account.substr(slash + 1));
    if (validPattern(principal)) {
      addUnique(*out.mutable_principals(), principal);
    } else if (fields.broaden()) {
      addUnique(*out.mutable_principals(), widened(principal));
      fields.report(where +
                    "\"*\" is allowed only at the end of the name; widened to principal \"" +
                    widened(principal) + "\"");
    } else {
      fields.report(where + "\"*\" is allowed only at the end of the name; dropped");
    }
  }
  const std::vector<std::string> principals = listOf(source.principals());
  fields.include("principals", principals, patternReasons(principals), *out.mutable_principals());
  bool alive =
      (source.service_accounts().empty() && principals.empty()) || !out.principals().empty();
  const std::vector<std::string> namespaces = listOf(source.namespaces());
  alive = fields.include("namespaces", namespaces, patternReasons(namespaces),
                         *out.mutable_namespaces()) &&
          alive;
  alive = fields.exclude("notPrincipals", source.not_principals(), *out.mutable_not_principals()) &&
          alive;
  alive = fields.exclude("notNamespaces", source.not_namespaces(), *out.mutable_not_namespaces()) &&
          alive;
  if (!alive) {
    return std::nullopt;
  }
  return out;
}

// An operation; nullopt when it matches no request.
std::optional<weft::v1::AuthorizationPolicy::Destination> translateOperation(
    const weft::mesh::v1alpha1::Operation& operation, FieldTranslator& fields) {
  weft::v1::AuthorizationPolicy::Destination out;
  for (uint32_t port : operation.ports()) {
    if (std::find(out.ports().begin(), out.ports().end(), port) == out.ports().end()) {
      out.add_ports(port);
    }
  }
  bool alive = true;
  // "*" alone means any method, which is an empty list.
  const auto& methods = operation.methods();
  const bool any_method = std::find(methods.begin(), methods.end(), "*") != methods.end();
  if (!(any_method && methods.size() == 1)) {
    std::vector<std::string> reasons;
    bool invalid = false;
    for (const std::string& method : methods) {
      reasons.push_back(method == "*"         ? "\"*\" (any method) mixed with other methods"
                        : validMethod(method) ? ""
                                              : "not a method name ([A-Z][A-Z_-]*)");
      invalid = invalid || !reasons.back().empty();
    }
    if (invalid && fields.broaden()) {
      // A method list cannot be widened value by value: it then matches any method.
      for (size_t i = 0; i < reasons.size(); ++i) {
        if (!reasons[i].empty()) {
          fields.report("methods[" + std::to_string(i) + "] \"" + methods[static_cast<int>(i)] +
                        "\": " + reasons[i] + "; the operation matches any method");
        }
      }
    } else {
      alive = fields.include("methods", listOf(methods), reasons, *out.mutable_methods());
    }
  }
  for (int i = 0; i < operation.not_methods_size(); ++i) {
    const std::string& method = operation.not_methods(i);
    if (validMethod(method)) {
      addUnique(*out.mutable_not_methods(), method);
      continue;
    }
    const std::string where = "notMethods[" + std::to_string(i) + "] \"" + method +
                              "\": not a method name ([A-Z][A-Z_-]*)";
    if (fields.broaden()) {
      fields.report(where + "; dropped");
    } else {
      // Excluding what the value might mean excludes every method.
      fields.report(where + "; the operation excludes every method");
      alive = false;
    }
  }
  const std::vector<std::string> paths = listOf(operation.paths());
  alive = fields.include("paths", paths, patternReasons(paths), *out.mutable_paths()) && alive;
  alive = fields.exclude("notPaths", operation.not_paths(), *out.mutable_not_paths()) && alive;
  if (!alive) {
    return std::nullopt;
  }
  return out;
}

bool namesCallers(const Spec& spec) {
  for (const auto& rule : spec.rules()) {
    for (const auto& source : rule.from()) {
      if (source.service_accounts_size() > 0 || source.principals_size() > 0 ||
          source.namespaces_size() > 0) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

std::string authorizationPolicyName(const AuthorizationPolicy& policy) {
  return objectKey(policy.meta.namespace_, policy.meta.name);
}

weft::v1::AuthorizationPolicy translateAuthorizationPolicy(const AuthorizationPolicy& policy,
                                                           const MeshSettings& settings,
                                                           ProblemLog& problems) {
  weft::v1::AuthorizationPolicy out;
  out.set_name(authorizationPolicyName(policy));
  const Spec& spec = policy.spec;
  switch (spec.action()) {
    case Spec::DENY:
      out.set_action(weft::v1::AuthorizationPolicy::DENY);
      break;
    case Spec::AUDIT:
      out.set_action(weft::v1::AuthorizationPolicy::AUDIT);
      break;
    default:
      out.set_action(weft::v1::AuthorizationPolicy::ALLOW);
      break;
  }
  out.set_dry_run(spec.dry_run());
  // AUDIT records; recording more than written is the side that loses nothing.
  const bool broaden = spec.action() != Spec::ALLOW;
  const std::string what = "AuthorizationPolicy " + out.name() + ": ";
  for (int r = 0; r < spec.rules_size(); ++r) {
    const auto& rule = spec.rules(r);
    const std::string rule_path = "rules[" + std::to_string(r) + "]";
    weft::v1::AuthorizationPolicy::Rule translated;
    for (int s = 0; s < rule.from_size(); ++s) {
      const std::string path = rule_path + ".from[" + std::to_string(s) + "]";
      FieldTranslator fields(what + path + ".", broaden, problems);
      auto source = translateSource(rule.from(s), settings, fields);
      if (source) {
        *translated.add_from() = std::move(*source);
      } else {
        problems.add(what + path + " matches no caller after that; it is left out");
      }
    }
    for (int o = 0; o < rule.to_size(); ++o) {
      const std::string path = rule_path + ".to[" + std::to_string(o) + "]";
      FieldTranslator fields(what + path + ".", broaden, problems);
      auto operation = translateOperation(rule.to(o), fields);
      if (operation) {
        *translated.add_to() = std::move(*operation);
      } else {
        problems.add(what + path + " matches no request after that; it is left out");
      }
    }
    const bool alive = (rule.from().empty() || !translated.from().empty()) &&
                       (rule.to().empty() || !translated.to().empty());
    if (!alive) {
      problems.add(what + rule_path + " matches nothing after that and is left out");
      continue;
    }
    *out.add_rules() = std::move(translated);
  }
  if (spec.rules_size() > 0 && out.rules().empty()) {
    // Only an ALLOW policy loses rules (the others are widened), and without rules it allows
    // nothing: the failure stays on the side of denying.
    problems.add(what + "no rule is left, so the policy allows nothing");
  }
  return out;
}

AuthorizationPolicies::AuthorizationPolicies(const MeshModel& model, const MeshSettings& settings,
                                             bool mesh_mtls, const AuthorizationPolicies* previous,
                                             ProblemLog& problems) {
  for (const auto& [key, object] : model.authorization_policies) {
    const AuthorizationPolicy& policy = *object;
    const std::string name = authorizationPolicyName(policy);
    Entry entry;
    const Entry* before = nullptr;
    if (previous != nullptr) {
      auto found = previous->by_name_.find(name);
      if (found != previous->by_name_.end() && found->second.policy == &policy) {
        before = &found->second;
      }
    }
    if (before != nullptr) {
      entry = *before;
    } else {
      ProblemLog own;
      entry.policy = &policy;
      entry.resource = buildResource(ResourceType::kAuthorization, name,
                                     translateAuthorizationPolicy(policy, settings, own));
      if (!mesh_mtls && namesCallers(policy.spec)) {
        own.add("AuthorizationPolicy " + name +
                ": sources naming callers (serviceAccounts, principals, namespaces) need mTLS, "
                "which is off while the control plane has no certificate authority; they match "
                "no caller, since plaintext callers have no identity");
      }
      entry.problems = own.messages();
    }
    for (const std::string& problem : entry.problems) {
      problems.add(problem);
    }
    NamespacePolicies& scope = by_namespace_[policy.meta.namespace_];
    if (selectsByLabels(policy)) {
      scope.selectors.emplace_back(&policy, name);
    } else {
      scope.namespace_wide.push_back(name);
    }
    by_name_.emplace(name, std::move(entry));
  }
}

std::vector<std::string> AuthorizationPolicies::namesFor(const Workload& workload) const {
  std::vector<std::string> names;
  auto found = by_namespace_.find(workload.meta.namespace_);
  if (found != by_namespace_.end()) {
    names = found->second.namespace_wide;
    for (const auto& [policy, name] : found->second.selectors) {
      if (labelsMatch(workload.meta.labels, policy->spec.selector().match_labels())) {
        names.push_back(name);
      }
    }
  }
  auto root = by_namespace_.find(std::string_view(kRootNamespace));
  if (root != by_namespace_.end() && workload.meta.namespace_ != kRootNamespace) {
    names.insert(names.end(), root->second.namespace_wide.begin(),
                 root->second.namespace_wide.end());
  }
  std::sort(names.begin(), names.end());
  return names;
}

const BuiltResourcePtr& AuthorizationPolicies::resource(const std::string& name) const {
  return by_name_.at(name).resource;
}

}  // namespace weft::controlplane
