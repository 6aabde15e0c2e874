#pragma once

#include <chrono>
#include <string>
#include <vector>

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
  // The certificate authority (ca.proto's CertificateService, on the xDS port). Empty: no CA.
  // Local mode: the directory with the signing material (generated there on first start).
  std::string ca_dir;
  // Local mode: the static token file that authenticates CA callers. Required with ca_dir.
  std::string bootstrap_token_file;
  // The longest workload certificate validity the CA grants.
  std::chrono::seconds ca_max_validity{std::chrono::hours(24)};
  // TLS on the gRPC port: the operator's certificate and key files, or a certificate the CA
  // issues for these DNS names and IP addresses (kept in <ca_dir>/xds-serving). Neither:
  // plaintext.
  std::string xds_tls_cert_file;
  std::string xds_tls_key_file;
  std::vector<std::string> xds_tls_hosts;
};

// Runs the control plane until SIGTERM/SIGINT (SIGHUP re-reads the manifests and the CA
// directory): directory source -> model -> debounce ->
// translation -> discovery server. Returns the process exit code.
int runControlPlane(const ControlPlaneOptions& options);

}  // namespace weft::controlplane
