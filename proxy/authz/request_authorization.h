#pragma once

#include <string>
#include <string_view>

#include "proxy/authz/policy_set.h"
#include "proxy/listener/downstream_peer.h"
#include "proxy/router/request_view.h"

namespace weft::proxy {

// Authorizes one HTTP request on a chain with policies: decides, counts, and logs a denial
// (with the peer's identity), every AUDIT match and every dry-run outcome that would differ.
// `target` is the normalized request target; the query is not part of what policies see.
// Returns whether the request may go on; when not, `detail` says why, for the 403 body.
// `logged_policy`, for the access log's "authz" field: the policy that denied, else the first
// AUDIT policy that matched, else a dry-run policy whose outcome would differ (a view into
// `policies`); untouched when none.
bool authorizeRequest(const authz::AuthorizationPolicySet& policies, const DownstreamPeer& peer,
                      std::string_view listener, std::string_view method,
                      std::string_view authority, std::string_view target,
                      const HeaderLookup& headers, std::string& header_scratch, std::string& detail,
                      std::string_view& logged_policy);

// The same for a TCP connection, once, after its TLS handshake.
bool authorizeConnection(const authz::AuthorizationPolicySet& policies, const DownstreamPeer& peer,
                         std::string_view listener);

}  // namespace weft::proxy
