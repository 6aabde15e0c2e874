#include "proxy/authz/principal_namespace.h"

namespace weft::proxy::authz {

std::string_view principalNamespace(std::string_view principal) {
  // Search the path only: a trust domain may itself be called "ns" ("spiffe://ns/ns/a/sa/b").
  std::string_view path = principal;
  if (const size_t scheme_end = principal.find("://"); scheme_end != std::string_view::npos) {
    const size_t path_start = principal.find('/', scheme_end + 3);
    path = path_start == std::string_view::npos ? std::string_view() : principal.substr(path_start);
  }
  static constexpr std::string_view kMarker = "/ns/";
  const size_t marker = path.find(kMarker);
  if (marker == std::string_view::npos) {
    return {};
  }
  const std::string_view rest = path.substr(marker + kMarker.size());
  return rest.substr(0, rest.find('/'));
}

}  // namespace weft::proxy::authz
