#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "proxy/authz/string_pattern.h"

namespace weft::proxy::authz {

// A pattern on the request authority (Host / :authority). Compared case-insensitively; a
// pattern without a port ("example.com", "*.example.com") matches the authority with any port
// or none, a pattern with one ("example.com:8080") matches the whole authority.
class HostPattern {
 public:
  static std::optional<HostPattern> parse(std::string_view text, std::string& error);

  bool matches(std::string_view authority) const;

 private:
  HostPattern(StringPattern pattern, bool has_port)
      : pattern_(std::move(pattern)), has_port_(has_port) {}

  StringPattern pattern_;
  bool has_port_;
};

// The host of an authority without its port: "a.example:80" -> "a.example", "[::1]:80" ->
// "[::1]". Cut at the last ':' whatever follows, as the router does when it picks the virtual
// host, so that authorization and routing read the same host.
std::string_view hostWithoutPort(std::string_view authority);

}  // namespace weft::proxy::authz
