#pragma once

#include <string_view>

namespace weft::proxy::authz {

// The namespace of a SPIFFE principal: the segment after "/ns/" in
// "spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>". Empty when the principal is
// empty (plaintext peer) or names no namespace. A view into `principal`.
std::string_view principalNamespace(std::string_view principal);

}  // namespace weft::proxy::authz
