// weft-controlplane: watches mesh configuration (a directory of manifests in local mode),
// translates it into proxy resources and serves them over the xDS stream.
#include <algorithm>
#include <iostream>

#include "common/app/command_line.h"
#include "common/config/duration_text.h"
#include "common/log/log_level.h"
#include "common/log/logger.h"
#include "controlplane/app/control_plane.h"
#include "controlplane/source/kubernetes_names.h"

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  const weft::ProgramInfo program{
      "weft-controlplane", "the Weft control plane: config sources, translation and xDS server",
      "weft-controlplane --config-dir <manifests> [options]"};
  weft::controlplane::ControlPlaneOptions cp;
  std::string log_level;
  std::string log_format;
  unsigned debounce_ms = 100;
  unsigned max_debounce_ms = 1000;
  std::string ca_max_validity = "24h";
  std::string xds_tls_hosts;
  std::string ca_secret;
  std::string token_review_audience;
  po::options_description options("Options");
  options.add_options()(
      "config-dir", po::value(&cp.config_dir),
      "local mode: directory of manifests (Services, Workloads, weft.dev policies), watched")(
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
      "bootstrap-token-file", po::value(&cp.bootstrap_token_file),
      "local mode: static token file (token,user,uid[,groups] CSV lines, user "
      "system:serviceaccount:<ns>:<sa>) that authenticates CA callers")(
      "token-review", po::bool_switch(&cp.token_review),
      "authenticate CA callers by a Kubernetes TokenReview of their service-account token")(
      "token-review-audience", po::value(&token_review_audience),
      "the audience the reviewed tokens must be valid for (the proxies' projected token "
      "audience); unset: the API server's default")(
      "kube-api-server", po::value(&cp.kube_api_server),
      "https://host:port of the Kubernetes API (for --ca-secret and --token-review); unset: "
      "in-cluster, from the pod's service account")(
      "kube-token-file", po::value(&cp.kube_token_file),
      "bearer token file for --kube-api-server (re-read for every request)")(
      "kube-ca-file", po::value(&cp.kube_ca_file),
      "roots the --kube-api-server certificate must chain to")(
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
  if (cp.config_dir.empty()) {
    std::cerr << "weft-controlplane: --config-dir is required (the Kubernetes API source comes "
                 "later; see --help)\n";
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
  const bool uses_kube_api = !cp.ca_secret_name.empty() || cp.token_review;
  const bool kube_flags =
      !cp.kube_api_server.empty() || !cp.kube_token_file.empty() || !cp.kube_ca_file.empty();
  if (kube_flags && !uses_kube_api) {
    std::cerr << "weft-controlplane: --kube-api-server, --kube-token-file and --kube-ca-file are "
                 "for --ca-secret and --token-review\n";
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
