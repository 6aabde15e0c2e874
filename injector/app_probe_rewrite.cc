#include "injector/app_probe_rewrite.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>

#include "common/kube/json_fields.h"

namespace weft::injector {

namespace json = boost::json;

namespace {

// The proxy's bounds on StatusServer.app_probes (bootstrap.proto).
constexpr size_t kMaxAppProbes = 64;
constexpr int64_t kMaxProbeTimeoutSeconds = 300;

// A probe's port: a number, or the name of one of the container's ports.
std::optional<int64_t> resolvePort(const json::value* port, const json::object& container) {
  if (port == nullptr) {
    return std::nullopt;
  }
  if (port->is_int64()) {
    const int64_t number = port->get_int64();
    return number >= 1 && number <= 65535 ? std::optional<int64_t>(number) : std::nullopt;
  }
  if (!port->is_string()) {
    return std::nullopt;
  }
  const std::string_view name = port->get_string();
  if (const json::array* ports = kube::arrayField(container, "ports")) {
    for (const json::value& entry : *ports) {
      const json::object* declared = entry.if_object();
      if (declared != nullptr && kube::stringField(*declared, "name") == name) {
        const int64_t number = kube::integerField(*declared, "containerPort");
        if (number >= 1 && number <= 65535) {
          return number;
        }
      }
    }
  }
  return std::nullopt;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// What the proxy's app probes take (StatusServer.app_probes in bootstrap.proto): a path of
// visible ASCII, header names that are HTTP tokens, values without control characters, and
// none of the fields the probe's own request framing sets. A probe outside these rules stays
// with the kubelet rather than giving the proxy a bootstrap it would refuse.
bool isProbePath(std::string_view path) {
  return path.size() <= 2048 &&
         std::all_of(path.begin(), path.end(), [](unsigned char c) { return c > ' ' && c < 0x7f; });
}

bool isForwardableHeader(std::string_view name, std::string_view value) {
  static constexpr std::string_view kFramingFields[] = {
      "content-length",     "te",      "connection", "keep-alive",         "proxy-connection",
      "transfer-encoding",  "upgrade", "trailer",    "proxy-authenticate", "http2-settings",
      "proxy-authorization"};
  const std::string lower = lowercase(name);
  if (name.empty() || name.size() > 256 || value.size() > 8192 ||
      std::find(std::begin(kFramingFields), std::end(kFramingFields), lower) !=
          std::end(kFramingFields)) {
    return false;
  }
  constexpr std::string_view kTokenSymbols = "!#$%&'*+.^_`|~-";
  const bool token = std::all_of(name.begin(), name.end(), [&](unsigned char c) {
    return std::isalnum(c) || kTokenSymbols.find(static_cast<char>(c)) != std::string_view::npos;
  });
  const bool clean = std::none_of(value.begin(), value.end(), [](unsigned char c) {
    return (c < ' ' && c != '\t') || c == 0x7f;
  });
  // A Host header must be a visible-ASCII authority (the proxy's http_get.host).
  return token && clean &&
         (lower != "host" || (!value.empty() && value.size() <= 261 &&
                              std::all_of(value.begin(), value.end(),
                                          [](unsigned char c) { return c > ' ' && c < 0x7f; })));
}

// The check the proxy runs, or nullopt when this probe stays with the kubelet.
std::optional<json::object> proxiedCheck(const json::object& probe, const json::object& container) {
  json::object check;
  if (const json::object* http = kube::objectField(probe, "httpGet")) {
    if (!kube::stringField(*http, "host").empty()) {
      return std::nullopt;
    }
    const auto port = resolvePort(http->if_contains("port"), container);
    if (!port) {
      return std::nullopt;
    }
    json::object get;
    get["port"] = *port;
    // The kubelet joins the path to "http://host:port" as given; a relative one becomes
    // absolute the same way.
    std::string path(kube::stringField(*http, "path"));
    if (path.empty() || path.front() != '/') {
      path.insert(path.begin(), '/');
    }
    if (!isProbePath(path)) {
      return std::nullopt;
    }
    get["path"] = path;
    if (kube::stringField(*http, "scheme") == "HTTPS") {
      get["scheme"] = "HTTPS";
    }
    if (const json::array* headers = kube::arrayField(*http, "httpHeaders")) {
      json::array copied;
      for (const json::value& entry : *headers) {
        const json::object* header = entry.if_object();
        if (header == nullptr) {
          continue;
        }
        const std::string_view name = kube::stringField(*header, "name");
        const std::string_view value = kube::stringField(*header, "value");
        if (!isForwardableHeader(name, value)) {
          return std::nullopt;
        }
        if (lowercase(name) == "host") {
          get["host"] = value;
        } else {
          copied.push_back(json::object{{"name", name}, {"value", value}});
        }
      }
      if (!copied.empty()) {
        get["headers"] = std::move(copied);
      }
    }
    check["http_get"] = std::move(get);
  } else if (const json::object* tcp = kube::objectField(probe, "tcpSocket")) {
    if (!kube::stringField(*tcp, "host").empty()) {
      return std::nullopt;
    }
    const auto port = resolvePort(tcp->if_contains("port"), container);
    if (!port) {
      return std::nullopt;
    }
    check["tcp_socket"] = json::object{{"port", *port}};
  } else if (const json::object* grpc = kube::objectField(probe, "grpc")) {
    const auto port = resolvePort(grpc->if_contains("port"), container);
    if (!port) {
      return std::nullopt;
    }
    json::object call{{"port", *port}};
    const std::string_view service = kube::stringField(*grpc, "service");
    if (service.size() > 256) {
      return std::nullopt;
    }
    if (!service.empty()) {
      call["service"] = service;
    }
    check["grpc"] = std::move(call);
  } else {
    return std::nullopt;  // exec, or no handler: nothing crosses the network
  }
  // The kubelet's default timeout is one second; the proxy's check uses the probe's own, up
  // to the five minutes the proxy takes (a longer one would outlast any sensible period).
  const int64_t timeout = std::clamp<int64_t>(kube::integerField(probe, "timeoutSeconds", 1), 1,
                                              kMaxProbeTimeoutSeconds);
  check["timeout"] = std::to_string(timeout) + "s";
  return check;
}

}  // namespace

ProbeRewrite rewriteAppProbes(const json::array& containers, uint16_t status_port) {
  static constexpr struct {
    std::string_view field;
    std::string_view suffix;
  } kProbes[] = {
      {"livenessProbe", "livez"}, {"readinessProbe", "readyz"}, {"startupProbe", "startupz"}};
  ProbeRewrite rewrite;
  for (size_t index = 0; index < containers.size(); ++index) {
    const json::object* container = containers[index].if_object();
    if (container == nullptr) {
      continue;
    }
    const std::string_view name = kube::stringField(*container, "name");
    for (const auto& kind : kProbes) {
      const json::object* probe = kube::objectField(*container, kind.field);
      if (probe == nullptr || name.empty()) {
        continue;
      }
      auto check = proxiedCheck(*probe, *container);
      // The proxy holds at most kMaxAppProbes; the rest stay with the kubelet.
      if (!check || rewrite.app_probes.size() >= kMaxAppProbes) {
        continue;
      }
      std::string key = std::string(name) + "/" + std::string(kind.suffix);
      // Everything but the handler stays: delays, periods, thresholds, the grace period.
      json::object replaced = *probe;
      replaced.erase("httpGet");
      replaced.erase("tcpSocket");
      replaced.erase("grpc");
      replaced["httpGet"] =
          json::object{{"path", "/app-health/" + key}, {"port", status_port}, {"scheme", "HTTP"}};
      rewrite.app_probes.push_back({key, std::move(*check)});
      rewrite.replacements.push_back({index, std::string(kind.field), std::move(replaced)});
    }
  }
  return rewrite;
}

}  // namespace weft::injector
