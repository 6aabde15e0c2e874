#include "proxy/authz/condition_match.h"

#include <algorithm>

namespace weft::proxy::authz {
namespace {

bool anyPatternMatches(const std::vector<StringPattern>& patterns, std::string_view value) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const StringPattern& pattern) { return pattern.matches(value); });
}

bool anyBlockContains(const std::vector<CidrBlock>& blocks, const IpAddressBytes& address) {
  return std::any_of(blocks.begin(), blocks.end(),
                     [&](const CidrBlock& block) { return block.contains(address); });
}

bool anyPortEquals(const std::vector<uint16_t>& ports, uint16_t port) {
  return std::find(ports.begin(), ports.end(), port) != ports.end();
}

// "One of values (if any) and none of not_values", for a value that may be missing.
template <typename Values, typename Matches>
bool valuesHold(const Values& values, const Values& not_values, bool present, Matches matches) {
  const bool some_value = values.empty() || (present && matches(values));
  return some_value && !(present && matches(not_values));
}

}  // namespace

bool ConditionMatch::holds(const MatchInput& input) const {
  auto string_holds = [&](bool present, std::string_view value) {
    return valuesHold(patterns, not_patterns, present, [&](const std::vector<StringPattern>& list) {
      return anyPatternMatches(list, value);
    });
  };
  auto address_holds = [&](const IpAddressBytes& address) {
    return valuesHold(blocks, not_blocks, true, [&](const std::vector<CidrBlock>& list) {
      return anyBlockContains(list, address);
    });
  };
  switch (attribute) {
    case Attribute::kRequestHeader: {
      if (input.request == nullptr) {
        return true;
      }
      std::string_view value;
      const bool present = input.request->headers != nullptr &&
                           input.request->headers->find(header_name, *input.header_scratch, value);
      return string_holds(present, value);
    }
    case Attribute::kSourceIp:
      return address_holds(input.source_ip);
    case Attribute::kDestinationIp:
      return address_holds(input.destination_ip);
    case Attribute::kSourcePrincipal:
      return string_holds(!input.connection.principal.empty(), input.connection.principal);
    case Attribute::kSourceNamespace:
      return string_holds(!input.peer_namespace.empty(), input.peer_namespace);
    case Attribute::kConnectionSni:
      return string_holds(!input.connection.sni.empty(), input.connection.sni);
    case Attribute::kDestinationPort:
      return valuesHold(ports, not_ports, true, [&](const std::vector<uint16_t>& list) {
        return anyPortEquals(list, input.connection.destination_port);
      });
  }
  return false;
}

}  // namespace weft::proxy::authz
