#include "injector/sidecar_bootstrap.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace weft::injector {

namespace {

// `json` with each "$" doubled: the kubelet expands $(NAME) in a variable's value and turns
// "$$" into "$", so a "$(" in a probe path or a header reaches the proxy as written instead of
// being replaced.
std::string doubleDollars(const std::string& json) {
  std::string out;
  out.reserve(json.size());
  for (char c : json) {
    if (c == '$') {
      out += '$';
    }
    out += c;
  }
  return out;
}

// A JSON string (valid YAML) of `text`.
std::string quoted(std::string_view text) {
  return doubleDollars(boost::json::serialize(boost::json::value(text)));
}

std::string escapedJson(const boost::json::object& object) {
  return doubleDollars(boost::json::serialize(object));
}

}  // namespace

std::string sidecarBootstrap(const InjectionSettings& settings,
                             const std::vector<AppProbe>& app_probes) {
  std::string text;
  text.reserve(1024 + settings.mesh_root_pem.size() * 11 / 10);
  // The node: who this proxy is. POD_IPS is "a" or "a,b" (dual stack), so it is expanded
  // inside a flow sequence; the IPs need no quotes.
  text +=
      "node:\n"
      "  id: \"$(POD_NAME).$(POD_NAMESPACE)\"\n"
      "  workload_name: \"$(POD_NAME)\"\n"
      "  namespace: \"$(POD_NAMESPACE)\"\n"
      "  service_account: \"$(SERVICE_ACCOUNT)\"\n"
      "  ip_addresses: [$(POD_IPS)]\n";
  text += "admin: {address: {address: 127.0.0.1, port: " + std::to_string(kProxyAdminPort) + "}}\n";
  text +=
      "status_server:\n  address: {address: 0.0.0.0, port: " + std::to_string(kProxyStatusPort) +
      "}\n";
  if (!app_probes.empty()) {
    text += "  app_probes:\n";
    for (const AppProbe& probe : app_probes) {
      text += "    " + quoted(probe.key) + ": " + escapedJson(probe.check) + "\n";
    }
  }
  // Two workers: a sidecar serves one pod, and each worker costs memory.
  text += "concurrency: 2\n";
  text += "drain_timeout: 5s\n";
  // A restarted proxy container serves its last configuration while the control plane is
  // unreachable; the directory is the pod's memory-backed emptyDir.
  text +=
      "persisted_config: {path: " + quoted(std::string(kProxyDataDirectory) + "/config.pb") + "}\n";
  text += "dynamic_resources:\n  ads:\n    server:\n      address: {address: " +
          quoted(settings.control_plane_host) +
          ", port: " + std::to_string(settings.control_plane_port) + "}\n";
  text += "      token_file: " + quoted(std::string(kProxyTokenDirectory) + "/token") + "\n";
  text += "      tls: {ca_pem: " + quoted(settings.mesh_root_pem) + "}\n";
  text += "  ca: {}\n";
  return text;
}

}  // namespace weft::injector
