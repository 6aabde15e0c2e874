#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace weft::injector {

// How the proxy joins the pod.
enum class SidecarMode {
  // An init container with restartPolicy Always (Kubernetes >= 1.29): started, and ready,
  // before the app's init containers and containers; stopped after them, so Jobs complete.
  kNative,
  // A regular container, first in the list, whose postStart hook (`weft-proxy wait`) holds
  // the app containers until the proxy is ready. A Job's app ends it with POST
  // 127.0.0.1:15000/quitquitquit.
  kClassic,
};

const char* sidecarModeName(SidecarMode mode);

// What the injector puts into every pod: the injector's ConfigMap (weft-sidecar-injector)
// plus the mesh root. One value is shared, read-only, by every admission request.
struct InjectionSettings {
  std::string proxy_image = "weft-proxy:0.1.0";
  std::string image_pull_policy = "IfNotPresent";
  SidecarMode mode = SidecarMode::kNative;
  // The control plane's xDS and CA address, host:port.
  std::string control_plane_host = "weft-controlplane.weft-system.svc";
  uint16_t control_plane_port = 15012;
  // The audience of the projected service-account token the proxy presents to the control
  // plane (its --token-review-audience).
  std::string token_audience = "weft";
  // PEM roots that verify the control plane's certificate (the weft-mesh-root ConfigMap).
  // Empty: nothing can be injected, and pods are refused with that reason.
  std::string mesh_root_pem;
  // Kubernetes quantities, copied into the proxy container's resources. Empty: not set.
  std::string proxy_cpu_request = "10m";
  std::string proxy_memory_request = "40Mi";
  std::string proxy_cpu_limit;
  std::string proxy_memory_limit = "256Mi";
  std::string proxy_log_level = "info";
  // Namespaces never injected, whatever their labels: the cluster's own and Weft's.
  std::vector<std::string> excluded_namespaces = {"kube-system", "kube-public", "kube-node-lease",
                                                  "weft-system"};
  // The proxy's user and group: its own connections are not captured.
  int64_t proxy_uid = 1337;
};

// The settings of a ConfigMap mounted as a directory (one file per key; the kubelet's
// "..data" entries are ignored). `base` supplies what the directory does not set. Unknown
// keys and invalid values are errors naming the key, so a typo is never silently ignored.
// Returns false with `error` set; `out` is then unchanged.
bool loadSettingsDirectory(const std::string& directory, const InjectionSettings& base,
                           InjectionSettings& out, std::string& error);

// One key of the ConfigMap: applies `value` to `settings`, or says why not.
bool applySetting(const std::string& key, const std::string& value, InjectionSettings& settings,
                  std::string& error);

}  // namespace weft::injector
