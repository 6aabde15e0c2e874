#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/authz/cidr_block.h"
#include "proxy/authz/match_input.h"
#include "proxy/authz/string_pattern.h"

namespace weft::proxy::authz {

// A compiled AuthorizationPolicy.Condition: it holds when the attribute matches one of the
// values (if any) and none of the not-values. A missing attribute (an absent header, the
// principal, namespace or SNI of a peer that has none) matches no value.
struct ConditionMatch {
  enum class Attribute : uint8_t {
    kRequestHeader,  // HTTP only
    kSourceIp,
    kSourcePrincipal,
    kSourceNamespace,
    kDestinationIp,
    kDestinationPort,
    kConnectionSni,
  };

  Attribute attribute = Attribute::kSourceIp;
  std::string header_name;  // lower-case, for kRequestHeader

  // Only the lists of the attribute's kind are filled.
  std::vector<StringPattern> patterns;
  std::vector<StringPattern> not_patterns;
  std::vector<CidrBlock> blocks;
  std::vector<CidrBlock> not_blocks;
  std::vector<uint16_t> ports;
  std::vector<uint16_t> not_ports;

  bool usesHttpFields() const { return attribute == Attribute::kRequestHeader; }

  // Without a request (TCP chains) a request header condition holds: the caller has already
  // decided that the rule is evaluated without its HTTP fields.
  bool holds(const MatchInput& input) const;
};

}  // namespace weft::proxy::authz
