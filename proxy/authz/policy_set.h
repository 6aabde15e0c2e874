#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/authz/authorization_decision.h"
#include "proxy/authz/compiled_policy.h"
#include "proxy/authz/request_attributes.h"
#include "weft/v1/listener.pb.h"

namespace weft::proxy::authz {

// The compiled policies of a config snapshot, by AuthorizationPolicy name.
using CompiledPolicyIndex = std::unordered_map<std::string, CompiledAuthorizationPolicyPtr>;

// The authorization of one filter chain (FilterChainAuthorization): its listed policies sorted
// by role, and the evaluation order of authorization.proto. Built once per config snapshot;
// deciding never allocates or throws.
class AuthorizationPolicySet {
 public:
  // Looks every listed name up in `policies`. A name not there makes the chain deny everything
  // (fail closed) until a snapshot has it.
  AuthorizationPolicySet(const weft::v1::FilterChainAuthorization& config,
                         const CompiledPolicyIndex& policies);

  // TCP chains, once per connection after the TLS handshake: HTTP-only fields cannot be
  // evaluated (an ALLOW rule using them never matches; DENY and AUDIT rules go without them).
  AuthorizationDecision decideConnection(const ConnectionAttributes& connection) const;

  // HTTP chains, once per request after path normalization. `header_scratch` backs the joined
  // value of a repeated header field; a session reuses one string so that nothing allocates.
  AuthorizationDecision decideRequest(const ConnectionAttributes& connection,
                                      const HttpRequestAttributes& request,
                                      std::string& header_scratch) const;

  // Listed names with no compiled policy, in the chain's order.
  const std::vector<std::string>& missingPolicies() const { return missing_; }

 private:
  using PolicyList = std::vector<CompiledAuthorizationPolicyPtr>;

  AuthorizationDecision decide(const MatchInput& input) const;
  void addDryRunOutcome(const MatchInput& input, AuthorizationDecision& decision) const;

  PolicyList audit_;
  PolicyList deny_;  // enforced
  PolicyList allow_;
  PolicyList dry_run_deny_;
  PolicyList dry_run_allow_;
  bool default_allow_ = true;
  std::vector<std::string> missing_;
  std::string missing_label_;  // "missing policy <first missing name>", for decided_by
};

}  // namespace weft::proxy::authz
