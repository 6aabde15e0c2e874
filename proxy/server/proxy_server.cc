#include "proxy/server/proxy_server.h"

#include <boost/asio/io_context.hpp>
#include <iostream>
#include <thread>

#include "common/config/yaml_to_proto.h"
#include "common/log/logger.h"
#include "common/signals/signal_watcher.h"
#include "proxy/server/worker.h"
#include "proxy/snapshot/snapshot_builder.h"

namespace weft::proxy {

namespace {

spdlog::logger& serverLog() {
  static spdlog::logger& logger = weft::log::logger("server");
  return logger;
}

std::chrono::milliseconds drainTimeout(const weft::v1::Bootstrap& bootstrap) {
  if (!bootstrap.has_drain_timeout()) {
    return std::chrono::seconds(5);
  }
  return std::chrono::milliseconds(bootstrap.drain_timeout().seconds() * 1000 +
                                   bootstrap.drain_timeout().nanos() / 1'000'000);
}

}  // namespace

int runProxy(const ProxyOptions& options) {
  weft::v1::Bootstrap bootstrap;
  config::ConfigErrors errors = config::loadYamlFile(options.config_path, bootstrap);
  SnapshotPtr snapshot;
  if (errors.empty()) {
    snapshot = buildSnapshot(bootstrap, options.config_path, errors);
  }
  if (!errors.empty()) {
    std::cerr << config::formatErrors(errors) << "\n";
    serverLog().error("config {} rejected with {} error(s)", options.config_path, errors.size());
    return 1;
  }
  if (options.validate_only) {
    std::cout << options.config_path << ": OK (" << snapshot->listeners.size() << " listeners, "
              << snapshot->clusters.size() << " clusters)\n";
    return 0;
  }

  uint32_t concurrency = options.concurrency;
  if (concurrency == 0) {
    concurrency = bootstrap.concurrency();
  }
  if (concurrency == 0) {
    concurrency = std::max(1u, std::thread::hardware_concurrency());
  }

  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<uint16_t> ports;
  for (const ListenerConfig& listener : snapshot->listeners) {
    ports.push_back(listener.address.port());
  }
  for (uint32_t i = 0; i < concurrency; ++i) {
    auto worker = std::make_unique<Worker>(i, snapshot);
    if (std::string error = worker->bind(ports); !error.empty()) {
      std::cerr << "weft-proxy: " << error << "\n";
      serverLog().error("{}", error);
      return 1;
    }
    // Port 0 asks the kernel for a free port; every other worker binds the same one.
    ports = worker->boundPorts();
    workers.push_back(std::move(worker));
  }
  for (size_t i = 0; i < snapshot->listeners.size(); ++i) {
    const auto& address = snapshot->listeners[i].address.address();
    serverLog().info("listener '{}' listening on {}{}{}:{}", snapshot->listeners[i].name,
                     address.is_v6() ? "[" : "", address.to_string(), address.is_v6() ? "]" : "",
                     ports[i]);
  }
  for (auto& worker : workers) {
    worker->start();
  }
  serverLog().info("weft-proxy ready: {} workers, {} listeners, {} clusters", concurrency,
                   snapshot->listeners.size(), snapshot->clusters.size());

  boost::asio::io_context main_context;
  const auto drain_deadline = drainTimeout(bootstrap);
  std::unique_ptr<SignalWatcher> signals;
  signals = std::make_unique<SignalWatcher>(
      main_context,
      [&](int signal_number) {
        serverLog().info("signal {}: draining (deadline {} ms)", signal_number,
                         drain_deadline.count());
        for (auto& worker : workers) {
          worker->drain(drain_deadline);
        }
        signals->stop();
      },
      [&](int) {
        serverLog().warn(
            "SIGHUP: configuration reload is not available in this version; restart to apply "
            "changes");
      });
  main_context.run();
  for (auto& worker : workers) {
    worker->join();
  }
  serverLog().info("weft-proxy stopped");
  return 0;
}

}  // namespace weft::proxy
