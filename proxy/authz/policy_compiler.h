#pragma once

#include <string_view>

#include "common/config/config_error.h"
#include "proxy/authz/compiled_policy.h"
#include "weft/v1/authorization.pb.h"

namespace weft::proxy::authz {

// Compiles one AuthorizationPolicy into its matcher, once per config snapshot. Content the
// matcher cannot use (a bad CIDR block, a misplaced '*', an unknown condition key, a port out of
// range) is appended to `errors` with its field path under `path` (e.g.
// "<path>.rules[0].from[1].ip_blocks[2]") and the result is null; the snapshot builder turns
// that into a NACK. Never throws on bad content.
CompiledAuthorizationPolicyPtr compileAuthorizationPolicy(
    const weft::v1::AuthorizationPolicy& policy, std::string_view path,
    config::ConfigErrors& errors);

}  // namespace weft::proxy::authz
