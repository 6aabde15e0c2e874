// weft-injector: the mutating admission webhook that adds the weft-proxy sidecar to pods in
// namespaces labelled weft.dev/inject=enabled.
#include <iostream>

#include "common/app/command_line.h"
#include "common/config/duration_text.h"
#include "common/log/log_level.h"
#include "common/log/logger.h"
#include "injector/injector_app.h"

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  const weft::ProgramInfo program{"weft-injector",
                                  "the Weft sidecar injector (Kubernetes mutating webhook)",
                                  "weft-injector --tls-cert-file <pem> --tls-key-file <pem> "
                                  "[options]"};
  weft::injector::InjectorOptions options;
  std::string reload_interval = "5s";
  std::string shutdown_delay = "5s";
  std::string log_level;
  std::string log_format;
  po::options_description description("Options");
  description.add_options()(
      "webhook-address",
      po::value(&options.webhook_address)->default_value(options.webhook_address),
      "host:port of the HTTPS admission endpoint (POST /inject)")(
      "tls-cert-file", po::value(&options.tls_cert_file),
      "the serving certificate chain, PEM (the Secret weft-injector-tls's tls.crt); re-read when "
      "it changes")("tls-key-file", po::value(&options.tls_key_file), "its private key, PEM")(
      "config-dir", po::value(&options.config_dir),
      "the ConfigMap weft-sidecar-injector mounted as a directory (proxyImage, sidecarMode, ...); "
      "re-read when it changes")(
      "mesh-root-file", po::value(&options.mesh_root_file),
      "the mesh root the injected proxies verify the control plane with (root-cert.pem of the "
      "ConfigMap weft-mesh-root)")(
      "metrics-address",
      po::value(&options.metrics_address)->default_value(options.metrics_address),
      "host:port of /metrics, /healthz and /ready (plain HTTP)")(
      "own-namespace", po::value(&options.own_namespace)->default_value(options.own_namespace),
      "Weft's namespace: never injected, like kube-system")(
      "reload-interval", po::value(&reload_interval)->default_value(reload_interval),
      "how often the certificate, settings and mesh root are checked for changes")(
      "shutdown-delay", po::value(&shutdown_delay)->default_value(shutdown_delay),
      "after SIGTERM, how long reviews are still answered while /ready fails")(
      "log-level", po::value(&log_level)->default_value("info"),
      "trace, debug, info, warning, error, critical or off")(
      "log-format", po::value(&log_format)->default_value("text"), "text or json (JSON lines)");
  po::variables_map values;
  if (auto exit_code = weft::parseCommandLine(argc, argv, program, description, values)) {
    return *exit_code;
  }
  const auto level = weft::log::parseLogLevel(log_level);
  if (!level) {
    std::cerr << "weft-injector: unknown --log-level '" << log_level << "'\n";
    return 2;
  }
  if (log_format != "text" && log_format != "json") {
    std::cerr << "weft-injector: --log-format must be text or json, not '" << log_format << "'\n";
    return 2;
  }
  if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
    std::cerr << "weft-injector: --tls-cert-file and --tls-key-file are required (the API server "
                 "calls webhooks over HTTPS only)\n";
    return 2;
  }
  for (auto [flag, text, out] :
       {std::tuple{"--reload-interval", &reload_interval, &options.reload_interval},
        std::tuple{"--shutdown-delay", &shutdown_delay, &options.shutdown_delay}}) {
    google::protobuf::Duration parsed;
    if (std::string error = weft::config::parseDurationText(*text, parsed); !error.empty()) {
      std::cerr << "weft-injector: " << flag << ": " << error << '\n';
      return 2;
    }
    *out = std::chrono::milliseconds(parsed.seconds() * 1000 + parsed.nanos() / 1000000);
  }
  if (options.reload_interval.count() <= 0) {
    std::cerr << "weft-injector: --reload-interval must be positive\n";
    return 2;
  }
  weft::log::initLogging(
      {log_format == "json" ? weft::log::LogFormat::kJson : weft::log::LogFormat::kText, *level,
       nullptr});
  return weft::injector::runInjector(options);
}
