#include "proxy/authz/compiled_policy.h"

#include <algorithm>

namespace weft::proxy::authz {

bool CompiledAuthorizationPolicy::matches(const MatchInput& input) const {
  const HttpFieldsWithoutRequest without_request = action == PolicyAction::kAllow
                                                       ? HttpFieldsWithoutRequest::kRuleNeverMatches
                                                       : HttpFieldsWithoutRequest::kFieldsLeftOut;
  return std::any_of(rules.begin(), rules.end(),
                     [&](const RuleMatch& rule) { return rule.matches(input, without_request); });
}

}  // namespace weft::proxy::authz
