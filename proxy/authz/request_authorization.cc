#include "proxy/authz/request_authorization.h"

#include "common/log/logger.h"
#include "proxy/stats/security_counters.h"

namespace weft::proxy {

namespace {

spdlog::logger& authzLog() {
  static spdlog::logger& logger = weft::log::logger("authz");
  return logger;
}

authz::ConnectionAttributes connectionAttributes(const DownstreamPeer& peer) {
  return authz::ConnectionAttributes{peer.principal, peer.source.address(),
                                     peer.destination.address(), peer.destination.port(),
                                     peer.server_name};
}

std::string_view callerOf(const DownstreamPeer& peer) {
  return peer.principal.empty() ? std::string_view("no identity (plaintext)")
                                : std::string_view(peer.principal);
}

// Audit matches and dry-run differences are recorded whatever the outcome.
void record(const authz::AuthorizationDecision& decision, const DownstreamPeer& peer,
            std::string_view listener, std::string_view what) {
  SecurityCounters& counters = securityCounters();
  // Every match counts; the log names the first few (the decision lists at most that many).
  counters.authz_audit.fetch_add(decision.audit_match_count, std::memory_order_relaxed);
  for (size_t i = 0; i < decision.listedAuditCount(); ++i) {
    authzLog().info("{}: audit policy {} matched {} from {} ({})", listener,
                    decision.audit_policies[i], what, peer.source.address().to_string(),
                    callerOf(peer));
  }
  if (decision.dry_run_differs) {
    count(counters.authz_dry_run);
    authzLog().info("{}: dry-run {} by {} for {} from {} ({})", listener,
                    decision.dry_run_allowed ? "allow" : "deny", decision.dry_run_policy, what,
                    peer.source.address().to_string(), callerOf(peer));
  }
  if (!decision.allowed) {
    count(counters.authz_denied);
  }
}

}  // namespace

bool authorizeRequest(const authz::AuthorizationPolicySet& policies, const DownstreamPeer& peer,
                      std::string_view listener, std::string_view method,
                      std::string_view authority, std::string_view target,
                      const HeaderLookup& headers, std::string& header_scratch, std::string& detail,
                      std::string_view& logged_policy) {
  const std::string_view path = target.substr(0, target.find('?'));
  const authz::AuthorizationDecision decision = policies.decideRequest(
      connectionAttributes(peer), authz::HttpRequestAttributes{method, authority, path, &headers},
      header_scratch);
  if (decision.audit_match_count == 0 && !decision.dry_run_differs && decision.allowed) {
    return true;  // the common case: nothing to log or count
  }
  std::string what(method);
  what.append(" ").append(path.substr(0, 256));
  record(decision, peer, listener, what);
  if (!decision.allowed) {
    logged_policy = decision.decided_by;
  } else if (decision.audit_match_count > 0) {
    logged_policy = decision.audit_policies[0];
  } else if (decision.dry_run_differs) {
    logged_policy = decision.dry_run_policy;
  }
  if (decision.allowed) {
    return true;
  }
  authzLog().warn("{}: {} from {} ({}) denied: {}", listener, what,
                  peer.source.address().to_string(), callerOf(peer), decision.decided_by);
  detail = "denied by authorization policy (";
  detail.append(decision.decided_by).append(")");
  return false;
}

bool authorizeConnection(const authz::AuthorizationPolicySet& policies, const DownstreamPeer& peer,
                         std::string_view listener) {
  const authz::AuthorizationDecision decision =
      policies.decideConnection(connectionAttributes(peer));
  record(decision, peer, listener, "connection");
  if (!decision.allowed) {
    authzLog().warn("{}: connection from {} ({}) to port {} denied: {}; closed", listener,
                    peer.source.address().to_string(), callerOf(peer), peer.destination.port(),
                    decision.decided_by);
  }
  return decision.allowed;
}

}  // namespace weft::proxy
