// weft-proxy: the sidecar data plane.
#include <iostream>
#include <thread>

#include "common/app/command_line.h"
#include "common/log/log_level.h"
#include "common/log/logger.h"
#include "proxy/init/init_command.h"
#include "proxy/server/proxy_server.h"
#include "proxy/tls/record_buffer_cache.h"

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "init") {
    // The pod's init step: traffic capture rules, no proxy.
    return weft::proxy::init::runInitCommand(argc - 1, argv + 1);
  }
  // First: OpenSSL accepts a new allocator only before its first allocation.
  const bool record_cache = weft::proxy::installTlsRecordBufferCache();
  namespace po = boost::program_options;
  const weft::ProgramInfo program{
      "weft-proxy", "the Weft sidecar proxy",
      "weft-proxy --config <bootstrap.yaml> [options]\n       weft-proxy init [options]   (traffic "
      "capture rules; init --help)"};
  std::string log_level;
  std::string log_format;
  weft::proxy::ProxyOptions proxy_options;
  po::options_description options("Options");
  options.add_options()("config,c", po::value(&proxy_options.config_path),
                        "bootstrap file (YAML of weft.v1.Bootstrap; see docs/api.md)")(
      "concurrency", po::value(&proxy_options.concurrency)->default_value(0),
      "worker threads (0: the bootstrap's value, else one per CPU)")(
      "validate", po::bool_switch(&proxy_options.validate_only),
      "check the bootstrap file, print the result and exit")(
      "log-level", po::value(&log_level)->default_value("info"),
      "trace, debug, info, warning, error, critical or off")(
      "log-format", po::value(&log_format)->default_value("text"), "text or json (JSON lines)");
  po::variables_map values;
  if (auto exit_code = weft::parseCommandLine(argc, argv, program, options, values)) {
    return *exit_code;
  }
  const auto level = weft::log::parseLogLevel(log_level);
  if (!level) {
    std::cerr << "weft-proxy: unknown --log-level '" << log_level << "'\n";
    return 2;
  }
  if (log_format != "text" && log_format != "json") {
    std::cerr << "weft-proxy: --log-format must be text or json, not '" << log_format << "'\n";
    return 2;
  }
  if (proxy_options.config_path.empty()) {
    std::cerr << "weft-proxy: --config is required (a bootstrap YAML file; see --help)\n";
    return 2;
  }
  weft::log::initLogging(
      {log_format == "json" ? weft::log::LogFormat::kJson : weft::log::LogFormat::kText, *level,
       nullptr});
  if (!record_cache) {
    weft::log::logger("tls").warn(
        "OpenSSL allocated memory before the proxy could install its record buffer cache; "
        "TLS runs with OpenSSL's default allocator");
  }
  return weft::proxy::runProxy(proxy_options);
}
