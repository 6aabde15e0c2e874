#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace weft::proxy::authz {

// Why a request or connection was allowed or denied.
enum class DecisionReason : uint8_t {
  kAllowedByPolicy,       // an enforced ALLOW policy matched
  kAllowedByDefault,      // no DENY matched, no enforced ALLOW policy, default_action ALLOW
  kDeniedByPolicy,        // an enforced DENY policy matched
  kDeniedNoAllowMatched,  // enforced ALLOW policies are listed and none matched
  kDeniedByDefault,       // no DENY matched, no enforced ALLOW policy, default_action DENY
  kDeniedMissingPolicy,   // a listed policy has not been received (fail closed)
};

// The outcome of one authorization, for enforcement, the access log ("authz") and the
// weft_authz_* counters. Every view refers to names owned by the AuthorizationPolicySet (and
// its compiled policies), valid while the set is: the decision itself never allocates.
struct AuthorizationDecision {
  // Names of matching AUDIT policies kept in the decision; further matches are counted only.
  static constexpr size_t kMaxListedAudits = 8;

  bool allowed = true;
  DecisionReason reason = DecisionReason::kAllowedByDefault;
  // The deciding policy's name, or "default-allow", "default-deny", "no-allow-match",
  // "missing policy <name>".
  std::string_view decided_by;

  // AUDIT policies that matched (they never change the outcome), in the chain's order.
  std::array<std::string_view, kMaxListedAudits> audit_policies{};
  uint32_t audit_match_count = 0;  // all matches, listed or not

  // Set when the dry-run policies, evaluated as if enforced, would give the other outcome:
  // "dry-run deny by <dry_run_policy>" (or allow). The enforced outcome above still applies.
  bool dry_run_differs = false;
  bool dry_run_allowed = false;
  std::string_view dry_run_policy;

  size_t listedAuditCount() const {
    return audit_match_count < kMaxListedAudits ? audit_match_count : kMaxListedAudits;
  }
};

}  // namespace weft::proxy::authz
