#include "proxy/authz/rule_match.h"

#include <algorithm>

namespace weft::proxy::authz {
namespace {

// A list and its not_ list: the list (when non-empty) must have a match, the not_ list none.
template <typename Entry, typename Matches>
bool listsMatch(const std::vector<Entry>& entries, const std::vector<Entry>& not_entries,
                Matches matches) {
  if (!entries.empty() && std::none_of(entries.begin(), entries.end(), matches)) {
    return false;
  }
  return std::none_of(not_entries.begin(), not_entries.end(), matches);
}

}  // namespace

bool SourceMatch::matches(const MatchInput& input) const {
  const std::string_view principal = input.connection.principal;
  auto principal_matches = [&](const StringPattern& pattern) { return pattern.matches(principal); };
  auto namespace_matches = [&](const StringPattern& pattern) {
    return pattern.matches(input.peer_namespace);
  };
  auto block_contains = [&](const CidrBlock& block) { return block.contains(input.source_ip); };
  return listsMatch(principals, not_principals, principal_matches) &&
         listsMatch(namespaces, not_namespaces, namespace_matches) &&
         listsMatch(ip_blocks, not_ip_blocks, block_contains);
}

bool DestinationMatch::usesHttpFields() const {
  return !hosts.empty() || !not_hosts.empty() || !methods.empty() || !not_methods.empty() ||
         !paths.empty() || !not_paths.empty();
}

bool DestinationMatch::matches(const MatchInput& input) const {
  auto port_equals = [&](uint16_t port) { return port == input.connection.destination_port; };
  if (!listsMatch(ports, not_ports, port_equals)) {
    return false;
  }
  const HttpRequestAttributes* request = input.request;
  if (request == nullptr) {
    return true;
  }
  auto host_matches = [&](const HostPattern& host) { return host.matches(request->authority); };
  auto method_equals = [&](const std::string& method) { return method == request->method; };
  auto path_matches = [&](const StringPattern& path) { return path.matches(request->path); };
  return listsMatch(hosts, not_hosts, host_matches) &&
         listsMatch(methods, not_methods, method_equals) &&
         listsMatch(paths, not_paths, path_matches);
}

bool RuleMatch::matches(const MatchInput& input, HttpFieldsWithoutRequest without_request) const {
  if (input.request == nullptr && uses_http_fields &&
      without_request == HttpFieldsWithoutRequest::kRuleNeverMatches) {
    return false;
  }
  auto source_matches = [&](const SourceMatch& source) { return source.matches(input); };
  auto destination_matches = [&](const DestinationMatch& to_entry) {
    return to_entry.matches(input);
  };
  auto condition_holds = [&](const ConditionMatch& condition) { return condition.holds(input); };
  return (from.empty() || std::any_of(from.begin(), from.end(), source_matches)) &&
         (to.empty() || std::any_of(to.begin(), to.end(), destination_matches)) &&
         std::all_of(when.begin(), when.end(), condition_holds);
}

}  // namespace weft::proxy::authz
