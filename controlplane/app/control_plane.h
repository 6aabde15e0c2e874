#pragma once

#include <chrono>
#include <string>

namespace weft::controlplane {

struct ControlPlaneOptions {
  // Local mode: the directory of manifests (Services, Workloads, weft.dev policies).
  std::string config_dir;
  // The xDS and proxy-status gRPC port. Port 0 picks a free one (tests; the log names it).
  std::string xds_address = "0.0.0.0:15010";
  // Prometheus /metrics.
  std::string metrics_address = "0.0.0.0:15014";
  // Push debounce (push_debouncer.h).
  std::chrono::milliseconds debounce{100};
  std::chrono::milliseconds max_debounce{1000};
  // This replica's name in responses and logs. Empty: "weft-controlplane-<hostname>".
  std::string id;
};

// Runs the control plane until SIGTERM/SIGINT: directory source -> model -> debounce ->
// translation -> discovery server. Returns the process exit code.
int runControlPlane(const ControlPlaneOptions& options);

}  // namespace weft::controlplane
