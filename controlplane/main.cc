// weft-controlplane: watches mesh configuration (a directory of manifests in local mode, the
// Kubernetes API in cluster mode),
// translates it into proxy resources and serves them over the xDS stream.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <tuple>

#include "common/app/command_line.h"
#include "common/config/duration_text.h"
#include "common/kube/api_server.h"
#include "common/log/log_level.h"
#include "common/log/logger.h"
#include "controlplane/app/control_plane.h"
#include "controlplane/source/kubernetes_names.h"

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  const weft::ProgramInfo program{
      "weft-controlplane", "the Weft control plane: config sources, translation and xDS server",
      "weft-controlplane (--config-dir <manifests> | --kubernetes) [options]"};
  weft::controlplane::ControlPlaneOptions cp;
  std::string log_level;
  std::string log_format;
  unsigned debounce_ms = 100;
  unsigned max_debounce_ms = 1000;
  std::string ca_max_validity = "24h";
  std::string xds_tls_hosts;
  std::string ca_secret;
  std::string mesh_root_configmap = "weft-system/weft-mesh-root";
  std::string token_review_audience;
  std::string namespace_selector;
  std::string kube_resync_period = "30m";
  std::string kube_watch_timeout = "5m";
  std::string leader_lease_duration = "15s";
  po::options_description options("Options");
  options.add_options()(
      "config-dir", po::value(&cp.config_dir),
      "local mode: directory of manifests (Services, Workloads, weft.dev policies), watched")(
      "kubernetes", po::bool_switch(&cp.kubernetes),
      "cluster mode: the mesh is what the Kubernetes API holds (Services, EndpointSlices, Pods, "
      "Namespaces, weft.dev resources), listed and watched; the API from --kube-api-server or "
      "in-cluster")(
      "namespace-selector", po::value(&namespace_selector),
      "cluster mode: only namespaces with these labels (key=value[,key=value]) are part of the "
      "mesh; weft-system always is. Unset: every namespace")(
      "kube-resync-period", po::value(&kube_resync_period)->default_value(kube_resync_period),
      "cluster mode: list every resource again this often to repair drift (0s: never)")(
      "kube-watch-timeout", po::value(&kube_watch_timeout)->default_value(kube_watch_timeout),
      "cluster mode: a watch request lasts between this and twice this, then resumes")(
      "kube-list-page-size",
      po::value(&cp.kube_list_page_size)->default_value(cp.kube_list_page_size),
      "cluster mode: objects per page of a list (limit/continue)")(
      "leader-election-namespace", po::value(&cp.leader_election_namespace),
      "cluster mode: namespace of the Lease whose holder writes the resources' status (default: "
      "the pod's own, else weft-system)")(
      "leader-election-lease",
      po::value(&cp.leader_election_lease)->default_value(cp.leader_election_lease),
      "cluster mode: name of that Lease")(
      "leader-lease-duration",
      po::value(&leader_lease_duration)->default_value(leader_lease_duration),
      "cluster mode: how long the Lease holds without renewal; another replica takes over after "
      "that (the leader renews within 2/3 of it)")(
      "xds-address", po::value(&cp.xds_address)->default_value(cp.xds_address),
      "host:port of the xDS gRPC server (port 0: any free port)")(
      "metrics-address", po::value(&cp.metrics_address)->default_value(cp.metrics_address),
      "host:port of the Prometheus /metrics endpoint (port 0: any free port)")(
      "debounce-ms", po::value(&debounce_ms)->default_value(debounce_ms),
      "changes closer together than this are pushed together")(
      "max-debounce-ms", po::value(&max_debounce_ms)->default_value(max_debounce_ms),
      "a burst of changes is pushed at the latest this long after its first change")(
      "id", po::value(&cp.id), "name of this replica in responses (default: from the host name)")(
      "ca-dir", po::value(&cp.ca_dir),
      "local mode: directory of the certificate authority (ca-cert.pem, ca-key.pem, optional "
      "root-cert.pem, cert-chain.pem, extra-roots.pem); a root is generated there on first "
      "start. Unset: no CA")(
      "ca-secret", po::value(&ca_secret),
      "cluster mode: <namespace>/<name> of the Kubernetes Secret holding the CA (the same entries "
      "as --ca-dir); a root is generated into it on first start")(
      "mesh-root-configmap", po::value(&mesh_root_configmap)->default_value(mesh_root_configmap),
      "with --ca-secret: <namespace>/<name> of the ConfigMap the CA's trust bundle is published "
      "to (key root-cert.pem; created, and replaced when the bundle changes), for the sidecar "
      "injector; an empty value publishes nothing")(
      "bootstrap-token-file", po::value(&cp.bootstrap_token_file),
      "local mode: static token file (token,user,uid[,groups] CSV lines, user "
      "system:serviceaccount:<ns>:<sa>) that authenticates CA callers")(
      "token-review", po::bool_switch(&cp.token_review),
      "authenticate CA callers by a Kubernetes TokenReview of their service-account token")(
      "token-review-audience", po::value(&token_review_audience),
      "the audience the reviewed tokens must be valid for (the proxies' projected token "
      "audience); unset: the API server's default")(
      "kube-api-server", po::value(&cp.kube_api_server),
      "https://host:port of the Kubernetes API (for --kubernetes, --ca-secret and "
      "--token-review); unset: "
      "in-cluster, from the pod's service account")(
      "kube-token-file", po::value(&cp.kube_token_file),
      "bearer token file for --kube-api-server (re-read for every request)")(
      "kube-ca-file", po::value(&cp.kube_ca_file),
      "roots the --kube-api-server certificate must chain to")(
      "kubeconfig", po::value(&cp.kubeconfig),
      "the Kubernetes API as a kubeconfig file names it (token or client certificate), instead "
      "of --kube-api-server or in-cluster; e.g. ~/.kube/config")(
      "kube-context", po::value(&cp.kube_context),
      "the kubeconfig context to use (default: its current-context)")(
      "ca-max-validity", po::value(&ca_max_validity)->default_value(ca_max_validity),
      "longest workload certificate validity the CA grants (e.g. 24h, 90m)")(
      "xds-tls-cert-file", po::value(&cp.xds_tls_cert_file),
      "serve the gRPC port over TLS with this PEM certificate chain (re-read when it changes); "
      "with --xds-tls-key-file")("xds-tls-key-file", po::value(&cp.xds_tls_key_file),
                                 "the private key of --xds-tls-cert-file")(
      "xds-tls-hosts", po::value(&xds_tls_hosts),
      "serve the gRPC port over TLS with a certificate the CA issues (and renews) for these "
      "comma-separated DNS names and IP addresses, e.g. "
      "weft-controlplane.weft-system.svc,127.0.0.1; needs a CA")(
      "xds-tls-dir", po::value(&cp.xds_tls_dir),
      "where the CA-issued serving certificate is kept (default <ca-dir>/xds-serving; required "
      "with --ca-secret)")("log-level", po::value(&log_level)->default_value("info"),
                           "trace, debug, info, warning, error, critical or off")(
      "log-format", po::value(&log_format)->default_value("text"), "text or json (JSON lines)");
  po::variables_map values;
  if (auto exit_code = weft::parseCommandLine(argc, argv, program, options, values)) {
    return *exit_code;
  }
  const auto level = weft::log::parseLogLevel(log_level);
  if (!level) {
    std::cerr << "weft-controlplane: unknown --log-level '" << log_level << "'\n";
    return 2;
  }
  if (log_format != "text" && log_format != "json") {
    std::cerr << "weft-controlplane: --log-format must be text or json\n";
    return 2;
  }
  if (cp.config_dir.empty() == !cp.kubernetes) {
    std::cerr << "weft-controlplane: give either --config-dir (local mode) or --kubernetes "
                 "(cluster mode)\n";
    return 2;
  }
  if (!cp.kubernetes &&
      (values.count("namespace-selector") != 0 || !values["kube-resync-period"].defaulted() ||
       !values["kube-watch-timeout"].defaulted() || !values["kube-list-page-size"].defaulted() ||
       values.count("leader-election-namespace") != 0 ||
       !values["leader-election-lease"].defaulted() ||
       !values["leader-lease-duration"].defaulted())) {
    std::cerr << "weft-controlplane: --namespace-selector, --kube-resync-period, "
                 "--kube-watch-timeout, --kube-list-page-size and the --leader-* options are for "
                 "--kubernetes\n";
    return 2;
  }
  if (cp.kubernetes && values.count("leader-election-namespace") == 0) {
    // In a pod, its own namespace (where the RBAC grants the Lease).
    std::ifstream namespace_file(std::string(weft::kube::kServiceAccountDir) + "/namespace");
    std::string pod_namespace;
    if (namespace_file >> pod_namespace && !pod_namespace.empty()) {
      cp.leader_election_namespace = pod_namespace;
    }
  }
  if (std::string problem = weft::controlplane::checkDns1123Label(cp.leader_election_namespace);
      !problem.empty()) {
    std::cerr << "weft-controlplane: --leader-election-namespace: " << problem << "\n";
    return 2;
  }
  if (std::string problem = weft::controlplane::checkDns1123Subdomain(cp.leader_election_lease);
      !problem.empty()) {
    std::cerr << "weft-controlplane: --leader-election-lease: " << problem << "\n";
    return 2;
  }
  {
    google::protobuf::Duration duration;
    if (std::string error = weft::config::parseDurationText(leader_lease_duration, duration);
        !error.empty() || duration.seconds() < 1) {
      std::cerr << "weft-controlplane: --leader-lease-duration: "
                << (error.empty() ? "must be at least 1s" : error) << "\n";
      return 2;
    }
    cp.leader_lease_duration =
        std::chrono::milliseconds(duration.seconds() * 1000 + duration.nanos() / 1'000'000);
  }
  for (size_t start = 0; !namespace_selector.empty() && start <= namespace_selector.size();) {
    const size_t comma = std::min(namespace_selector.find(',', start), namespace_selector.size());
    const std::string entry = namespace_selector.substr(start, comma - start);
    const size_t equals = entry.find('=');
    std::string problem;
    if (equals == std::string::npos) {
      problem = "expected key=value";
    } else {
      problem = weft::controlplane::checkQualifiedName(entry.substr(0, equals));
      if (problem.empty()) {
        problem = weft::controlplane::checkLabelValue(entry.substr(equals + 1));
      }
    }
    if (!problem.empty()) {
      std::cerr << "weft-controlplane: --namespace-selector: '" << entry << "': " << problem
                << "\n";
      return 2;
    }
    cp.namespace_selector[entry.substr(0, equals)] = entry.substr(equals + 1);
    start = comma + 1;
  }
  for (const auto& [flag, text, out] :
       {std::tuple{"--kube-resync-period", &kube_resync_period, &cp.kube_resync_period},
        std::tuple{"--kube-watch-timeout", &kube_watch_timeout, &cp.kube_watch_timeout}}) {
    google::protobuf::Duration duration;
    if (std::string error = weft::config::parseDurationText(*text, duration); !error.empty()) {
      std::cerr << "weft-controlplane: " << flag << ": " << error << "\n";
      return 2;
    }
    *out = std::chrono::seconds(duration.seconds());
  }
  if (cp.kube_list_page_size < 1) {
    std::cerr << "weft-controlplane: --kube-list-page-size must be at least 1\n";
    return 2;
  }
  if (cp.kube_watch_timeout.count() < 1) {
    std::cerr << "weft-controlplane: --kube-watch-timeout must be at least 1s\n";
    return 2;
  }
  if (!ca_secret.empty()) {
    const size_t slash = ca_secret.find('/');
    const std::string namespace_name = ca_secret.substr(0, slash);
    const std::string name = slash == std::string::npos ? "" : ca_secret.substr(slash + 1);
    std::string problem = weft::controlplane::checkDns1123Label(namespace_name);
    if (problem.empty()) {
      problem = weft::controlplane::checkDns1123Subdomain(name);
    }
    if (slash == std::string::npos || !problem.empty()) {
      std::cerr << "weft-controlplane: --ca-secret '" << ca_secret
                << "': expected <namespace>/<name>"
                << (problem.empty() ? std::string() : " (" + problem + ")") << "\n";
      return 2;
    }
    cp.ca_secret_namespace = namespace_name;
    cp.ca_secret_name = name;
  }
  if (!values["mesh-root-configmap"].defaulted() && cp.ca_secret_name.empty() &&
      !mesh_root_configmap.empty()) {
    std::cerr << "weft-controlplane: --mesh-root-configmap publishes the root of the CA in "
                 "--ca-secret; it needs --ca-secret\n";
    return 2;
  }
  if (!cp.ca_secret_name.empty() && !mesh_root_configmap.empty()) {
    const size_t slash = mesh_root_configmap.find('/');
    const std::string namespace_name = mesh_root_configmap.substr(0, slash);
    const std::string name =
        slash == std::string::npos ? "" : mesh_root_configmap.substr(slash + 1);
    std::string problem = weft::controlplane::checkDns1123Label(namespace_name);
    if (problem.empty()) {
      problem = weft::controlplane::checkDns1123Subdomain(name);
    }
    if (slash == std::string::npos || !problem.empty()) {
      std::cerr << "weft-controlplane: --mesh-root-configmap '" << mesh_root_configmap
                << "': expected <namespace>/<name>"
                << (problem.empty() ? std::string() : " (" + problem + ")") << "\n";
      return 2;
    }
    cp.mesh_root_configmap_namespace = namespace_name;
    cp.mesh_root_configmap_name = name;
  }
  if (!cp.ca_dir.empty() && !cp.ca_secret_name.empty()) {
    std::cerr << "weft-controlplane: give either --ca-dir or --ca-secret, not both\n";
    return 2;
  }
  if (!cp.bootstrap_token_file.empty() && cp.token_review) {
    std::cerr << "weft-controlplane: give either --bootstrap-token-file or --token-review, not "
                 "both\n";
    return 2;
  }
  if (cp.hasCa() != (!cp.bootstrap_token_file.empty() || cp.token_review)) {
    std::cerr << "weft-controlplane: a CA (--ca-dir or --ca-secret) and a way to authenticate its "
                 "callers (--bootstrap-token-file or --token-review) go together\n";
    return 2;
  }
  if (!token_review_audience.empty()) {
    if (!cp.token_review) {
      std::cerr << "weft-controlplane: --token-review-audience needs --token-review\n";
      return 2;
    }
    cp.token_review_audiences.push_back(token_review_audience);
  }
  const bool uses_kube_api = cp.kubernetes || !cp.ca_secret_name.empty() || cp.token_review;
  const bool kube_flags =
      !cp.kube_api_server.empty() || !cp.kube_token_file.empty() || !cp.kube_ca_file.empty();
  if (kube_flags && !uses_kube_api) {
    std::cerr << "weft-controlplane: --kube-api-server, --kube-token-file and --kube-ca-file are "
                 "for --kubernetes, --ca-secret and --token-review\n";
    return 2;
  }
  if ((!cp.kubeconfig.empty() || !cp.kube_context.empty()) && !uses_kube_api) {
    std::cerr << "weft-controlplane: --kubeconfig and --kube-context are for --kubernetes, "
                 "--ca-secret and --token-review\n";
    return 2;
  }
  if (!cp.kube_context.empty() && cp.kubeconfig.empty()) {
    std::cerr << "weft-controlplane: --kube-context needs --kubeconfig\n";
    return 2;
  }
  if (!cp.kubeconfig.empty() && kube_flags) {
    std::cerr << "weft-controlplane: give either --kubeconfig or --kube-api-server with its "
                 "token and CA files, not both\n";
    return 2;
  }
  if (kube_flags &&
      (cp.kube_api_server.empty() || cp.kube_token_file.empty() || cp.kube_ca_file.empty())) {
    // Half a set would mix an explicit server with in-cluster credentials, or call the API
    // without a token or without verifying it.
    std::cerr << "weft-controlplane: --kube-api-server, --kube-token-file and --kube-ca-file go "
                 "together (none of them: in-cluster)\n";
    return 2;
  }
  if (cp.xds_tls_cert_file.empty() != cp.xds_tls_key_file.empty()) {
    std::cerr << "weft-controlplane: --xds-tls-cert-file and --xds-tls-key-file go together\n";
    return 2;
  }
  if (values.count("xds-tls-hosts") != 0) {
    // Comma-separated; blanks around entries are dropped, an empty entry is an error (it would
    // otherwise be a certificate for "" or, for an empty list, plaintext).
    for (size_t start = 0; start <= xds_tls_hosts.size();) {
      const size_t comma = std::min(xds_tls_hosts.find(',', start), xds_tls_hosts.size());
      std::string host = xds_tls_hosts.substr(start, comma - start);
      host.erase(0, host.find_first_not_of(" \t"));
      host.erase(host.find_last_not_of(" \t") + 1);
      if (host.empty()) {
        std::cerr << "weft-controlplane: --xds-tls-hosts: an empty name in '" << xds_tls_hosts
                  << "'\n";
        return 2;
      }
      cp.xds_tls_hosts.push_back(std::move(host));
      start = comma + 1;
    }
  }
  if (!cp.xds_tls_hosts.empty() && !cp.xds_tls_cert_file.empty()) {
    std::cerr << "weft-controlplane: give either --xds-tls-hosts (the CA issues the certificate) "
                 "or --xds-tls-cert-file, not both\n";
    return 2;
  }
  if (!cp.xds_tls_hosts.empty() && !cp.hasCa()) {
    std::cerr << "weft-controlplane: --xds-tls-hosts needs a CA, --ca-dir or --ca-secret (the CA "
                 "issues the serving certificate)\n";
    return 2;
  }
  if (!cp.xds_tls_dir.empty() && cp.xds_tls_hosts.empty()) {
    std::cerr << "weft-controlplane: --xds-tls-dir is where --xds-tls-hosts keeps its "
                 "certificate; it needs --xds-tls-hosts\n";
    return 2;
  }
  if (!cp.xds_tls_hosts.empty() && cp.ca_dir.empty() && cp.xds_tls_dir.empty()) {
    std::cerr << "weft-controlplane: --xds-tls-hosts with --ca-secret needs --xds-tls-dir (where "
                 "the serving certificate is written)\n";
    return 2;
  }
  google::protobuf::Duration max_validity;
  if (std::string error = weft::config::parseDurationText(ca_max_validity, max_validity);
      !error.empty() || max_validity.seconds() < 60) {
    std::cerr << "weft-controlplane: --ca-max-validity: "
              << (error.empty() ? "must be at least 1m" : error) << "\n";
    return 2;
  }
  cp.ca_max_validity = std::chrono::seconds(max_validity.seconds());
  cp.debounce = std::chrono::milliseconds(debounce_ms);
  cp.max_debounce = std::chrono::milliseconds(max_debounce_ms);
  weft::log::initLogging(
      {log_format == "json" ? weft::log::LogFormat::kJson : weft::log::LogFormat::kText, *level,
       nullptr});
  return weft::controlplane::runControlPlane(cp);
}
