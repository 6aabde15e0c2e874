#include "cli/proxy_config_command.h"

#include <boost/json.hpp>

#include "cli/admin_client.h"
#include "cli/proxy_status_command.h"
#include "cli/text_table.h"

namespace weft::cli {

namespace json = boost::json;

namespace {

const json::value* member(const json::value& value, std::string_view key) {
  if (!value.is_object()) {
    return nullptr;
  }
  return value.as_object().if_contains(key);
}

std::string text(const json::value* value) {
  if (value == nullptr) {
    return "";
  }
  if (value->is_string()) {
    return std::string(value->as_string());
  }
  if (value->is_null()) {
    return "";
  }
  return json::serialize(*value);
}

const json::array& array(const json::value* value) {
  static const json::array kEmpty;
  return value && value->is_array() ? value->as_array() : kEmpty;
}

std::string join(const json::array& values, const char* separator = ",") {
  std::string out;
  for (const auto& value : values) {
    out += (out.empty() ? "" : separator) + text(&value);
  }
  return out;
}

std::string address(const json::value* socket) {
  const std::string host = text(member(*socket, "address"));
  const std::string port = text(member(*socket, "port"));
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
}

// What a route does, in a few words.
std::string routeAction(const json::value& route) {
  if (const json::value* action = member(route, "route")) {
    if (const json::value* split = member(*action, "weighted_clusters")) {
      std::string out;
      for (const auto& backend : array(member(*split, "clusters"))) {
        out += (out.empty() ? "" : ", ") + text(member(backend, "name")) + " (" +
               text(member(backend, "weight")) + ")";
      }
      return out;
    }
    return text(member(*action, "cluster"));
  }
  if (const json::value* direct = member(route, "direct_response")) {
    return "respond " + text(member(*direct, "status"));
  }
  if (member(route, "redirect")) {
    return "redirect";
  }
  return "-";
}

std::string routeMatch(const json::value& route) {
  const json::value* match = member(route, "match");
  if (match == nullptr) {
    return "/*";
  }
  std::string out;
  for (const char* kind : {"path", "prefix", "path_separated_prefix", "regex"}) {
    if (const json::value* value = member(*match, kind)) {
      out = std::string(kind) + " " + text(value);
    }
  }
  for (const auto& header : array(member(*match, "headers"))) {
    out += (out.empty() ? "" : " ") + std::string("header ") + text(member(header, "name"));
  }
  if (const json::value* methods = member(*match, "methods")) {
    out += (out.empty() ? "" : " ") + std::string("methods ") + join(array(methods));
  }
  return out.empty() ? "/*" : out;
}

void renderListeners(const json::value& resources, TextTable& table) {
  for (const auto& listener : array(member(resources, "listeners"))) {
    for (const auto& chain : array(member(listener, "filter_chains"))) {
      std::string match = "-";
      if (const json::value* m = member(chain, "match")) {
        if (const json::value* ports = member(*m, "destination_ports")) {
          match = "ports " + join(array(ports));
        }
      }
      std::string destination;
      if (const json::value* http = member(chain, "http")) {
        const json::value* routes = member(*http, "route_config");
        destination = "HTTP routes " + (routes ? text(member(*routes, "name"))
                                               : text(member(*http, "route_config_name")));
      } else if (const json::value* tcp = member(chain, "tcp")) {
        destination = "TCP to " + text(member(*tcp, "cluster"));
      }
      table.add(
          {text(member(listener, "name")), address(member(listener, "address")),
           text(member(listener, "direction")).empty() ? "-" : text(member(listener, "direction")),
           text(member(chain, "name")), match, destination});
    }
  }
}

void renderRoutes(const json::value& resources, TextTable& table) {
  for (const auto& listener : array(member(resources, "listeners"))) {
    for (const auto& chain : array(member(listener, "filter_chains"))) {
      const json::value* http = member(chain, "http");
      const json::value* routes = http ? member(*http, "route_config") : nullptr;
      if (routes == nullptr) {
        continue;
      }
      for (const auto& vhost : array(member(*routes, "virtual_hosts"))) {
        for (const auto& route : array(member(vhost, "routes"))) {
          table.add({text(member(*routes, "name")), text(member(vhost, "name")),
                     join(array(member(vhost, "domains"))), text(member(route, "name")),
                     routeMatch(route), routeAction(route)});
        }
      }
    }
  }
}

void renderClusters(const json::value& resources, TextTable& table) {
  for (const auto& cluster : array(member(resources, "clusters"))) {
    size_t endpoints = 0;
    if (const json::value* assignment = member(cluster, "load_assignment")) {
      for (const auto& locality : array(member(*assignment, "endpoints"))) {
        endpoints += array(member(locality, "lb_endpoints")).size();
      }
    }
    const std::string protocol = text(member(cluster, "protocol"));
    const std::string lb = text(member(cluster, "lb_policy"));
    table.add({text(member(cluster, "name")), protocol.empty() ? "HTTP1" : protocol,
               lb.empty() ? "ROUND_ROBIN" : lb, std::to_string(endpoints),
               text(member(cluster, "destination_service"))});
  }
}

void renderEndpoints(const json::value& clusters, TextTable& table) {
  for (const auto& cluster : array(member(clusters, "clusters"))) {
    for (const auto& endpoint : array(member(cluster, "endpoints"))) {
      table.add({text(member(cluster, "name")), text(member(endpoint, "address")),
                 text(member(endpoint, "weight")), text(member(endpoint, "health")),
                 text(member(endpoint, "active_requests"))});
    }
  }
}

}  // namespace

std::string renderProxyConfig(const std::string& config_dump_json, const std::string& clusters_json,
                              const std::string& section, const std::string& format,
                              std::string& out) {
  boost::system::error_code error;
  const json::value dump = json::parse(config_dump_json, error);
  if (error || !dump.is_object()) {
    return "the admin endpoint's /config_dump is not JSON";
  }
  const json::value* bootstrap = member(dump, "bootstrap");
  const json::value* resources = bootstrap ? member(*bootstrap, "static_resources") : nullptr;
  static const json::value kNoResources = json::object();
  if (resources == nullptr) {
    resources = &kNoResources;
  }
  json::value clusters;
  if (section == "endpoints" || section == "all") {
    clusters = json::parse(clusters_json, error);
    if (error) {
      return "the admin endpoint's /clusters is not JSON";
    }
  }
  if (format == "json") {
    if (section == "all") {
      out = json::serialize(dump) + "\n";
    } else if (section == "endpoints") {
      out = json::serialize(clusters) + "\n";
    } else {
      const json::value* part = member(*resources, section);
      out = json::serialize(part ? *part : json::value(json::array())) + "\n";
    }
    return {};
  }
  const std::string version = text(member(dump, "version_info"));
  out = "version: " + (version.empty() ? std::string("-") : version) + "\n\n";
  auto emit = [&](const char* title, TextTable& table) {
    if (section == "all") {
      out += std::string(title) + "\n";
    }
    out += table.empty() ? "(none)\n" : table.render();
    if (section == "all") {
      out += "\n";
    }
  };
  if (section == "listeners" || section == "all") {
    TextTable table({"LISTENER", "ADDRESS", "DIRECTION", "CHAIN", "MATCH", "DESTINATION"});
    renderListeners(*resources, table);
    emit("LISTENERS", table);
  }
  if (section == "routes" || section == "all") {
    TextTable table({"ROUTE CONFIG", "VIRTUAL HOST", "DOMAINS", "ROUTE", "MATCH", "TO"});
    renderRoutes(*resources, table);
    emit("ROUTES", table);
  }
  if (section == "clusters" || section == "all") {
    TextTable table({"CLUSTER", "PROTOCOL", "LB", "ENDPOINTS", "SERVICE"});
    renderClusters(*resources, table);
    emit("CLUSTERS", table);
  }
  if (section == "endpoints" || section == "all") {
    TextTable table({"CLUSTER", "ENDPOINT", "WEIGHT", "HEALTH", "ACTIVE"});
    renderEndpoints(clusters, table);
    emit("ENDPOINTS", table);
  }
  return {};
}

int runProxyConfig(const std::string& proxy, const std::string& section, const std::string& format,
                   const ControlPlaneTarget& control_plane, std::ostream& out, std::ostream& err) {
  if (section != "listeners" && section != "routes" && section != "clusters" &&
      section != "endpoints" && section != "all") {
    err << "weftctl: unknown section \"" << section
        << "\"; use listeners, routes, clusters, endpoints or all\n";
    return 2;
  }
  if (format != "table" && format != "json") {
    err << "weftctl: -o must be table or json\n";
    return 2;
  }
  std::string admin = proxy;
  if (proxy.find(':') == std::string::npos) {
    // A proxy id: the control plane knows where its admin endpoint is.
    weft::v1::ListProxiesResponse response;
    if (std::string error = fetchProxyStatus(control_plane, response); !error.empty()) {
      err << "weftctl: \"" << proxy << "\" is not an admin address (host:port), and " << error
          << "\n";
      return 1;
    }
    admin.clear();
    for (const auto& status : response.proxies()) {
      if (status.node().id() == proxy) {
        const auto& fields = status.node().metadata().fields();
        if (auto found = fields.find("admin_address"); found != fields.end()) {
          admin = found->second.string_value();
        }
      }
    }
    if (admin.empty()) {
      err << "weftctl: no proxy named \"" << proxy
          << "\" with a known admin address is connected to " << control_plane.address
          << "; give its admin address (host:port) instead.\n";
      return 1;
    }
  }
  std::string dump;
  if (std::string error = adminGet(admin, "/config_dump", dump); !error.empty()) {
    err << "weftctl: " << error << "\n";
    return 1;
  }
  std::string clusters;
  if (section == "endpoints" || section == "all") {
    if (std::string error = adminGet(admin, "/clusters?format=json", clusters); !error.empty()) {
      err << "weftctl: " << error << "\n";
      return 1;
    }
  }
  std::string rendered;
  if (std::string error = renderProxyConfig(dump, clusters, section, format, rendered);
      !error.empty()) {
    err << "weftctl: " << error << "\n";
    return 1;
  }
  out << rendered;
  return 0;
}

}  // namespace weft::cli
