#include "proxy/wait/http_url.h"

#include <algorithm>
#include <charconv>

namespace weft::proxy::wait {

std::optional<HttpUrl> parseHttpUrl(std::string_view url, std::string& error) {
  constexpr std::string_view kScheme = "http://";
  if (std::any_of(url.begin(), url.end(), [](unsigned char c) { return c <= ' ' || c == 0x7f; })) {
    error = "a URL has no spaces or control characters";
    return std::nullopt;
  }
  if (url.substr(0, kScheme.size()) != kScheme) {
    error = "the URL must start with http:// (the status port is plain HTTP)";
    return std::nullopt;
  }
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find('#') != std::string_view::npos) {
    error = "a fragment (#...) is never sent; leave it out";
    return std::nullopt;
  }
  const size_t path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  HttpUrl out;
  out.target = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
  if (out.target.front() == '?') {
    out.target.insert(out.target.begin(), '/');
  }
  if (authority.find('@') != std::string_view::npos) {
    error = "user information (user@) is not supported";
    return std::nullopt;
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "an IPv6 address in brackets lacks its ']'";
      return std::nullopt;
    }
    out.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      error = "unexpected text after the IPv6 address";
      return std::nullopt;
    }
    port_text = after.empty() ? std::string_view() : after.substr(1);
    if (!after.empty() && port_text.empty()) {
      error = "the port after ':' is missing";
      return std::nullopt;
    }
  } else {
    const size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) {
        error = "the port after ':' is missing";
        return std::nullopt;
      }
    }
    if (out.host.find(':') != std::string::npos) {
      error = "an IPv6 address goes in brackets: http://[::1]:15020/";
      return std::nullopt;
    }
  }
  if (out.host.empty()) {
    error = "the URL names no host";
    return std::nullopt;
  }
  if (!port_text.empty()) {
    unsigned port = 0;
    const auto [end, problem] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (problem != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      error = "the port must be a number from 1 to 65535, not '" + std::string(port_text) + "'";
      return std::nullopt;
    }
    out.port = static_cast<uint16_t>(port);
  }
  out.authority = std::string(authority);
  return out;
}

}  // namespace weft::proxy::wait
