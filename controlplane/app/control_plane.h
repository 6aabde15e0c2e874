#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace weft::controlplane {

struct ControlPlaneOptions {
  // Local mode: the directory of manifests (Services, Workloads, weft.dev policies).
  std::string config_dir;
  // Cluster mode instead: the mesh is what the Kubernetes API holds (kube_api_server).
  bool kubernetes = false;
  // Cluster mode: only namespaces with these labels are part of the mesh (weft-system always
  // is); empty: all.
  std::map<std::string, std::string> namespace_selector;
  // Cluster mode: how often each resource is listed again to repair drift, and the nominal
  // length of one watch request (kube/reflector.h).
  std::chrono::seconds kube_resync_period{std::chrono::minutes(30)};
  std::chrono::seconds kube_watch_timeout{std::chrono::minutes(5)};
  // Cluster mode: items per list page.
  uint32_t kube_list_page_size = 500;
  // Cluster mode: the Lease whose holder writes status (every replica serves xDS). The
  // namespace defaults to the pod's own.
  std::string leader_election_namespace = "weft-system";
  std::string leader_election_lease = "weft-controlplane";
  std::chrono::milliseconds leader_lease_duration{15000};
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
  // Cluster mode: the Secret with the same entries instead of ca_dir. Both empty: no CA.
  std::string ca_secret_namespace;
  std::string ca_secret_name;
  // With the CA Secret: the ConfigMap its trust bundle is published to (root-cert.pem), which
  // the sidecar injector mounts into pods. Empty name: not published.
  std::string mesh_root_configmap_namespace;
  std::string mesh_root_configmap_name;
  // Who may ask the CA: the static token file (local mode), or, with token_review, the
  // Kubernetes API's TokenReview of the caller's service-account token. One of the two is
  // required with a CA.
  std::string bootstrap_token_file;
  bool token_review = false;
  // Audiences the reviewed token must be valid for; empty: the API server's default.
  std::vector<std::string> token_review_audiences;
  // The Kubernetes API, for the mesh's resources (kubernetes), the Secret and TokenReview: an
  // https:// URL with token and CA files; an empty URL means in-cluster (the pod's service
  // account).
  std::string kube_api_server;
  std::string kube_token_file;
  std::string kube_ca_file;
  // Or a kubeconfig file (outside the cluster) and the context to use (empty: its current).
  std::string kubeconfig;
  std::string kube_context;
  // The longest workload certificate validity the CA grants.
  std::chrono::seconds ca_max_validity{std::chrono::hours(24)};
  // TLS on the gRPC port: the operator's certificate and key files, or a certificate the CA
  // issues for these DNS names and IP addresses (kept in <ca_dir>/xds-serving). Neither:
  // plaintext.
  std::string xds_tls_cert_file;
  std::string xds_tls_key_file;
  std::vector<std::string> xds_tls_hosts;
  // Where the CA-issued serving certificate is written; empty: <ca_dir>/xds-serving (with a
  // CA Secret there is no CA directory, so it must be given, e.g. an emptyDir volume).
  std::string xds_tls_dir;

  bool hasCa() const { return !ca_dir.empty() || !ca_secret_name.empty(); }
};

// Runs the control plane until SIGTERM/SIGINT (SIGHUP re-reads the manifests or lists the
// Kubernetes resources again, and re-reads the CA directory): source -> model -> debounce ->
// translation -> discovery server. Returns the process exit code.
int runControlPlane(const ControlPlaneOptions& options);

}  // namespace weft::controlplane
