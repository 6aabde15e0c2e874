#pragma once

#include <string>
#include <string_view>

#include "proxy/authz/cidr_block.h"
#include "proxy/authz/principal_namespace.h"
#include "proxy/authz/request_attributes.h"

namespace weft::proxy::authz {

// One decision's attributes in the form the matchers read them, derived once per decision
// rather than once per policy: the peer's namespace, addresses as compared by CIDR blocks.
struct MatchInput {
  MatchInput(const ConnectionAttributes& connection_attributes,
             const HttpRequestAttributes* request_attributes, std::string* scratch)
      : connection(connection_attributes),
        request(request_attributes),
        header_scratch(scratch),
        peer_namespace(principalNamespace(connection_attributes.principal)),
        source_ip(IpAddressBytes::from(connection_attributes.source_ip)),
        destination_ip(IpAddressBytes::from(connection_attributes.destination_ip)) {}

  const ConnectionAttributes& connection;
  // Null on TCP chains, which have no HTTP request.
  const HttpRequestAttributes* request;
  // Backs the joined value of a repeated header field (HeaderLookup::find); null without a
  // request.
  std::string* header_scratch;
  std::string_view peer_namespace;
  IpAddressBytes source_ip;
  IpAddressBytes destination_ip;
};

}  // namespace weft::proxy::authz
