#pragma once

#include <chrono>
#include <string>

namespace weft::injector {

struct InjectorOptions {
  std::string webhook_address = "0.0.0.0:9443";
  std::string tls_cert_file;
  std::string tls_key_file;
  // The ConfigMap weft-sidecar-injector, mounted as a directory. Empty: the defaults.
  std::string config_dir;
  // root-cert.pem of the ConfigMap weft-mesh-root.
  std::string mesh_root_file;
  std::string metrics_address = "0.0.0.0:15014";
  // Weft's own namespace, never injected (besides the cluster's own).
  std::string own_namespace = "weft-system";
  // How often the certificate, settings and mesh root files are checked for changes.
  std::chrono::milliseconds reload_interval{5000};
  // After SIGTERM: /ready fails at once, reviews are still answered this long (while the
  // Service's endpoints drop the pod), then the process exits.
  std::chrono::milliseconds shutdown_delay{5000};
};

// Runs the webhook until SIGTERM or SIGINT. Returns the exit status: 0 after a signal, 1
// when it cannot start (the reason is logged).
int runInjector(const InjectorOptions& options);

}  // namespace weft::injector
