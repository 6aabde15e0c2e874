#include "injector/app_probe_rewrite.h"

#include <optional>
#include <string_view>

#include "common/kube/json_fields.h"

namespace weft::injector {

namespace json = boost::json;

namespace {

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
    const std::string_view path = kube::stringField(*http, "path");
    get["path"] = path.empty() ? std::string_view("/") : path;
    if (kube::stringField(*http, "scheme") == "HTTPS") {
      get["scheme"] = "HTTPS";
    }
    if (const json::array* headers = kube::arrayField(*http, "httpHeaders")) {
      json::array copied;
      for (const json::value& entry : *headers) {
        if (const json::object* header = entry.if_object()) {
          copied.push_back(json::object{{"name", kube::stringField(*header, "name")},
                                        {"value", kube::stringField(*header, "value")}});
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
    if (const std::string_view service = kube::stringField(*grpc, "service"); !service.empty()) {
      call["service"] = service;
    }
    check["grpc"] = std::move(call);
  } else {
    return std::nullopt;  // exec, or no handler: nothing crosses the network
  }
  // The kubelet's default timeout is one second; the proxy's check uses the probe's own.
  const int64_t timeout = kube::integerField(probe, "timeoutSeconds", 1);
  check["timeout"] = std::to_string(timeout > 0 ? timeout : 1) + "s";
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
      if (!check) {
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
