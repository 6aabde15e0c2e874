#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proxy/authz/match_input.h"
#include "proxy/authz/rule_match.h"

namespace weft::proxy::authz {

enum class PolicyAction : uint8_t { kAllow, kDeny, kAudit };

// An AuthorizationPolicy compiled for matching: built once per config snapshot by
// compileAuthorizationPolicy, immutable and shared by every filter chain that lists it.
struct CompiledAuthorizationPolicy {
  std::string name;
  PolicyAction action = PolicyAction::kAllow;
  bool dry_run = false;  // ALLOW and DENY only; an AUDIT policy never enforces anyway
  std::vector<RuleMatch> rules;

  // Whether any rule matches (no rules: never). Does not allocate or throw.
  bool matches(const MatchInput& input) const;
};

using CompiledAuthorizationPolicyPtr = std::shared_ptr<const CompiledAuthorizationPolicy>;

}  // namespace weft::proxy::authz
