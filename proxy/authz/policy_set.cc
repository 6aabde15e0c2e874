#include "proxy/authz/policy_set.h"

namespace weft::proxy::authz {
namespace {

constexpr std::string_view kDefaultAllow = "default-allow";
constexpr std::string_view kDefaultDeny = "default-deny";
constexpr std::string_view kNoAllowMatch = "no-allow-match";

const CompiledAuthorizationPolicy* firstMatch(
    const std::vector<CompiledAuthorizationPolicyPtr>& policies, const MatchInput& input) {
  for (const CompiledAuthorizationPolicyPtr& policy : policies) {
    if (policy->matches(input)) {
      return policy.get();
    }
  }
  return nullptr;
}

}  // namespace

AuthorizationPolicySet::AuthorizationPolicySet(const weft::v1::FilterChainAuthorization& config,
                                               const CompiledPolicyIndex& policies)
    : default_allow_(config.default_action() != weft::v1::FilterChainAuthorization::DENY) {
  for (const std::string& name : config.policies()) {
    const auto found = policies.find(name);
    if (found == policies.end() || found->second == nullptr) {
      missing_.push_back(name);
      continue;
    }
    const CompiledAuthorizationPolicyPtr& policy = found->second;
    switch (policy->action) {
      case PolicyAction::kAudit:
        audit_.push_back(policy);
        break;
      case PolicyAction::kDeny:
        (policy->dry_run ? dry_run_deny_ : deny_).push_back(policy);
        break;
      case PolicyAction::kAllow:
        (policy->dry_run ? dry_run_allow_ : allow_).push_back(policy);
        break;
    }
  }
  if (!missing_.empty()) {
    missing_label_ = "missing policy " + missing_.front();
  }
}

AuthorizationDecision AuthorizationPolicySet::decideConnection(
    const ConnectionAttributes& connection) const {
  return decide(MatchInput(connection, nullptr, nullptr));
}

AuthorizationDecision AuthorizationPolicySet::decideRequest(const ConnectionAttributes& connection,
                                                            const HttpRequestAttributes& request,
                                                            std::string& header_scratch) const {
  return decide(MatchInput(connection, &request, &header_scratch));
}

AuthorizationDecision AuthorizationPolicySet::decide(const MatchInput& input) const {
  AuthorizationDecision decision;
  for (const CompiledAuthorizationPolicyPtr& audit : audit_) {
    if (audit->matches(input)) {
      if (decision.audit_match_count < AuthorizationDecision::kMaxListedAudits) {
        decision.audit_policies[decision.audit_match_count] = audit->name;
      }
      ++decision.audit_match_count;
    }
  }
  if (!missing_.empty()) {
    // Whatever the missing policy says, denying is the only outcome that cannot be wrong
    // for it; dry-run policies cannot change that either.
    decision.allowed = false;
    decision.reason = DecisionReason::kDeniedMissingPolicy;
    decision.decided_by = missing_label_;
    return decision;
  }
  if (const CompiledAuthorizationPolicy* deny = firstMatch(deny_, input)) {
    decision.allowed = false;
    decision.reason = DecisionReason::kDeniedByPolicy;
    decision.decided_by = deny->name;
  } else if (!allow_.empty()) {
    const CompiledAuthorizationPolicy* allow = firstMatch(allow_, input);
    decision.allowed = allow != nullptr;
    decision.reason =
        allow != nullptr ? DecisionReason::kAllowedByPolicy : DecisionReason::kDeniedNoAllowMatched;
    decision.decided_by = allow != nullptr ? std::string_view(allow->name) : kNoAllowMatch;
  } else {
    decision.allowed = default_allow_;
    decision.reason =
        default_allow_ ? DecisionReason::kAllowedByDefault : DecisionReason::kDeniedByDefault;
    decision.decided_by = default_allow_ ? kDefaultAllow : kDefaultDeny;
  }
  if (!dry_run_deny_.empty() || !dry_run_allow_.empty()) {
    addDryRunOutcome(input, decision);
  }
  return decision;
}

// The outcome with the dry-run policies enforced as well. It can differ from the enforced one
// only through a dry-run policy, which is then the one reported.
void AuthorizationPolicySet::addDryRunOutcome(const MatchInput& input,
                                              AuthorizationDecision& decision) const {
  if (decision.reason == DecisionReason::kDeniedByPolicy) {
    return;  // an enforced DENY wins over anything added
  }
  bool allowed = false;
  const CompiledAuthorizationPolicy* decider = firstMatch(dry_run_deny_, input);
  if (decider == nullptr) {
    if (decision.reason == DecisionReason::kAllowedByPolicy || dry_run_allow_.empty()) {
      return;  // the ALLOW step ends as enforced
    }
    decider = firstMatch(dry_run_allow_, input);
    allowed = decider != nullptr;
    if (decider == nullptr) {
      // Listing a dry-run ALLOW policy is what would deny: name the first one.
      decider = dry_run_allow_.front().get();
    }
  }
  if (allowed != decision.allowed) {
    decision.dry_run_differs = true;
    decision.dry_run_allowed = allowed;
    decision.dry_run_policy = decider->name;
  }
}

}  // namespace weft::proxy::authz
