#include "common/kube/api_server.h"

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace weft::kube {

std::string ApiServer::url() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return "https://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

namespace {

tls::Result<uint16_t> parsePort(std::string_view text) {
  unsigned value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value == 0 ||
      value > 65535) {
    return tls::Error{"'" + std::string(text) + "' is not a port number"};
  }
  return static_cast<uint16_t>(value);
}

}  // namespace

// The token file's content without surrounding whitespace (a file written by hand usually ends
// with a newline, which must not end up in the header).
tls::Result<std::string> readBearerToken(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (!in || !(text << in.rdbuf())) {
    return tls::Error{"cannot read the token file " + path};
  }
  std::string token = text.str();
  const size_t first = token.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {
    return tls::Error{"the token file " + path + " is empty"};
  }
  token = token.substr(first, token.find_last_not_of(" \t\r\n") - first + 1);
  if (token.find_first_of("\r\n") != std::string::npos) {
    return tls::Error{"the token file " + path + " holds more than one line"};
  }
  return token;
}

tls::Result<ApiServer> inClusterApiServer() {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || *host == '\0' || port == nullptr || *port == '\0') {
    return tls::Error{
        "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set: not running in a pod "
        "(give --kube-api-server, --kube-token-file and --kube-ca-file instead)"};
  }
  auto parsed_port = parsePort(port);
  if (!parsed_port) {
    return tls::Error{"KUBERNETES_SERVICE_PORT: " + parsed_port.error()};
  }
  ApiServer server;
  server.host = host;
  server.port = *parsed_port;
  const std::string dir(kServiceAccountDir);
  server.token_file = dir + "/token";
  server.ca_file = dir + "/ca.crt";
  server.namespace_file = dir + "/namespace";
  return server;
}

tls::Result<ApiServer> apiServerFromUrl(std::string_view url, std::string token_file,
                                        std::string ca_file) {
  constexpr std::string_view kScheme = "https://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return tls::Error{"'" + std::string(url) +
                      "': the Kubernetes API is reached over https:// only"};
  }
  std::string_view authority = url.substr(kScheme.size());
  if (!authority.empty() && authority.back() == '/') {
    authority.remove_suffix(1);
  }
  if (authority.empty() || authority.find_first_of("/?#@") != std::string_view::npos) {
    return tls::Error{"'" + std::string(url) + "': expected https://host[:port] and nothing more"};
  }
  ApiServer server;
  server.token_file = std::move(token_file);
  server.ca_file = std::move(ca_file);
  std::string_view port;
  if (authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return tls::Error{"'" + std::string(url) + "': unterminated [IPv6 address]"};
    }
    server.host = std::string(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return tls::Error{"'" + std::string(url) + "': junk after the [IPv6 address]"};
      }
      port = rest.substr(1);
    }
  } else {
    const size_t colon = authority.rfind(':');
    server.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
    }
  }
  if (server.host.empty()) {
    return tls::Error{"'" + std::string(url) + "': no host"};
  }
  if (!port.empty() || authority.back() == ':') {
    auto parsed = parsePort(port);
    if (!parsed) {
      return tls::Error{"'" + std::string(url) + "': " + parsed.error()};
    }
    server.port = *parsed;
  }
  return server;
}

}  // namespace weft::kube
