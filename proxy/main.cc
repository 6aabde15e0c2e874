// weft-proxy: the sidecar data plane.
#include <iostream>
#include <thread>

#include "common/app/command_line.h"
#include "common/log/log_level.h"
#include "common/log/logger.h"
#include "proxy/init/init_command.h"
#include "proxy/server/proxy_server.h"
#include "proxy/tls/record_buffer_cache.h"
#include "proxy/wait/wait_command.h"

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "init") {
    // The pod's init step: traffic capture rules, no proxy.
    return weft::proxy::init::runInitCommand(argc - 1, argv + 1);
  }
  if (argc > 1 && std::string_view(argv[1]) == "wait") {
    // A classic sidecar's postStart hook: wait for the proxy of this pod, no proxy.
    return weft::proxy::wait::runWaitCommand(argc - 1, argv + 1);
  }
  // First: OpenSSL accepts a new allocator only before its first allocation.
  const bool record_cache = weft::proxy::installTlsRecordBufferCache();
  namespace po = boost::program_options;
  const weft::ProgramInfo program{
      "weft-proxy", "the Weft sidecar proxy",
      "weft-proxy --config <bootstrap.yaml> [options]\n"
      "       weft-proxy --config-env <VARIABLE> [options]\n"
      "       weft-proxy init [options]   (traffic capture rules; init --help)\n"
      "       weft-proxy wait [options]   (until the proxy is ready; wait --help)"};
  std::string log_level;
  std::string log_format;
  weft::proxy::ProxyOptions proxy_options;
  po::options_description options("Options");
  options.add_options()("config,c", po::value(&proxy_options.bootstrap.file_path),
                        "bootstrap file (YAML of weft.v1.Bootstrap; see docs/api.md)")(
      "config-env", po::value(&proxy_options.bootstrap.env_variable),
      "read the bootstrap YAML from this environment variable instead of a file (the injected "
      "sidecar's way; the file watcher is off)")(
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
  const weft::proxy::BootstrapSource& source = proxy_options.bootstrap;
  if (values.count("config") > 0 && values.count("config-env") > 0) {
    std::cerr << "weft-proxy: give --config or --config-env, not both\n";
    return 2;
  }
  if (values.count("config-env") > 0 && source.env_variable.empty()) {
    std::cerr << "weft-proxy: --config-env needs the name of an environment variable\n";
    return 2;
  }
  if (source.file_path.empty() && source.env_variable.empty()) {
    std::cerr << "weft-proxy: --config (a bootstrap YAML file) or --config-env (an environment "
                 "variable holding it) is required; see --help\n";
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
