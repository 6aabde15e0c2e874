#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace weft::proxy::wait {

// A plain-HTTP URL as `weft-proxy wait` polls it: the proxy's own status port, never TLS.
struct HttpUrl {
  std::string host;  // an IP literal (IPv6 without brackets) or a name
  uint16_t port = 80;
  std::string target;  // path and query, "/" at the least
  // The Host header: host and port as written (IPv6 in brackets).
  std::string authority;
};

// Parses "http://host[:port][/path[?query]]". Refuses other schemes (https is refused: the
// status port is plain HTTP), user info, fragments, an empty host, a port outside 1-65535, and
// spaces or control characters anywhere. Nullopt with the reason in `error`.
std::optional<HttpUrl> parseHttpUrl(std::string_view url, std::string& error);

}  // namespace weft::proxy::wait
