#include "proxy/authz/host_pattern.h"

#include <algorithm>

namespace weft::proxy::authz {
namespace {

// Whether a host pattern names a port: ":<digits>" at its end, after the ']' of an IPv6
// literal. An unbracketed IPv6 address ("::1") has several colons and names no port.
bool namesPort(std::string_view pattern) {
  const size_t colon = pattern.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == pattern.size()) {
    return false;
  }
  const size_t bracket = pattern.rfind(']');
  if (bracket == std::string_view::npos && pattern.find(':') != colon) {
    return false;
  }
  if (bracket != std::string_view::npos && bracket > colon) {
    return false;
  }
  const std::string_view port = pattern.substr(colon + 1);
  return std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string_view hostWithoutPort(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    return close == std::string_view::npos ? authority : authority.substr(0, close + 1);
  }
  const size_t colon = authority.rfind(':');
  return colon == std::string_view::npos ? authority : authority.substr(0, colon);
}

std::optional<HostPattern> HostPattern::parse(std::string_view text, std::string& error) {
  std::optional<StringPattern> pattern =
      StringPattern::parse(text, StringPatternOptions{.ignore_case = true}, error);
  if (!pattern) {
    return std::nullopt;
  }
  return HostPattern(std::move(*pattern), namesPort(text));
}

bool HostPattern::matches(std::string_view authority) const {
  return pattern_.matches(has_port_ ? authority : hostWithoutPort(authority));
}

}  // namespace weft::proxy::authz
