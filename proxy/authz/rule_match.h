#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/authz/cidr_block.h"
#include "proxy/authz/condition_match.h"
#include "proxy/authz/host_pattern.h"
#include "proxy/authz/match_input.h"
#include "proxy/authz/string_pattern.h"

namespace weft::proxy::authz {

// A compiled AuthorizationPolicy.Source. Every non-empty list must match: a list when any of
// its entries matches, a not_ list when none does.
struct SourceMatch {
  std::vector<StringPattern> principals;
  std::vector<StringPattern> not_principals;
  std::vector<StringPattern> namespaces;
  std::vector<StringPattern> not_namespaces;
  std::vector<CidrBlock> ip_blocks;
  std::vector<CidrBlock> not_ip_blocks;

  bool matches(const MatchInput& input) const;
};

// A compiled AuthorizationPolicy.Destination, with the same list semantics as SourceMatch.
struct DestinationMatch {
  std::vector<HostPattern> hosts;  // HTTP only
  std::vector<HostPattern> not_hosts;
  std::vector<uint16_t> ports;
  std::vector<uint16_t> not_ports;
  std::vector<std::string> methods;  // exact, case-sensitive; HTTP only
  std::vector<std::string> not_methods;
  std::vector<StringPattern> paths;  // with the trailing-slash rule; HTTP only
  std::vector<StringPattern> not_paths;

  bool usesHttpFields() const;

  // Without a request (TCP chains) the HTTP-only lists are left out.
  bool matches(const MatchInput& input) const;
};

// What a rule using HTTP-only fields means without an HTTP request (TCP chains). Both choices
// err towards denying.
enum class HttpFieldsWithoutRequest : uint8_t {
  kRuleNeverMatches,  // ALLOW
  kFieldsLeftOut,     // DENY, AUDIT
};

// A compiled AuthorizationPolicy.Rule: any `from` entry, any `to` entry and every `when`
// condition; an empty part matches everything.
struct RuleMatch {
  std::vector<SourceMatch> from;
  std::vector<DestinationMatch> to;
  std::vector<ConditionMatch> when;
  bool uses_http_fields = false;  // some `to` entry or `when` condition is HTTP only

  bool matches(const MatchInput& input, HttpFieldsWithoutRequest without_request) const;
};

}  // namespace weft::proxy::authz
