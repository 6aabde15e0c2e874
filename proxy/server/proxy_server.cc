#include "proxy/server/proxy_server.h"

#include <boost/asio/io_context.hpp>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "common/config/yaml_to_proto.h"
#include "common/log/logger.h"
#include "common/signals/signal_watcher.h"
#include "proxy/server/config_file_watcher.h"
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

std::string readFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// Loads and builds a snapshot; errors are returned, never thrown.
SnapshotPtr loadSnapshot(const std::string& path, config::ConfigErrors& errors) {
  weft::v1::Bootstrap bootstrap;
  errors = config::loadYamlFile(path, bootstrap);
  if (!errors.empty()) {
    return nullptr;
  }
  return buildSnapshot(bootstrap, path, errors);
}

bool sameAddress(const ListenerConfig& a, const ListenerConfig& b) {
  return a.address == b.address;
}

// Owns the workers and the main thread's duties: signals, reloads, shutdown.
class ProxyServer {
 public:
  ProxyServer(const ProxyOptions& options, SnapshotPtr snapshot)
      : options_(options), snapshot_(std::move(snapshot)) {}

  int run() {
    uint32_t concurrency = options_.concurrency;
    if (concurrency == 0) {
      concurrency = snapshot_->source.concurrency();
    }
    if (concurrency == 0) {
      concurrency = std::max(1u, std::thread::hardware_concurrency());
    }
    std::vector<std::vector<BoundListener>> bound(concurrency);
    for (uint32_t i = 0; i < concurrency; ++i) {
      workers_.push_back(std::make_unique<Worker>(i, snapshot_));
      for (const ListenerConfig& listener : snapshot_->listeners) {
        BoundListener socket;
        if (std::string error = workers_.back()->bindListener(listener, socket); !error.empty()) {
          std::cerr << "weft-proxy: " << error << "\n";
          serverLog().error("{}", error);
          return 1;
        }
        bound[i].push_back(std::move(socket));
      }
    }
    for (const ListenerConfig& listener : snapshot_->listeners) {
      logListening(listener);
    }
    for (uint32_t i = 0; i < concurrency; ++i) {
      workers_[i]->start(std::move(bound[i]));
    }
    last_config_text_ = readFile(options_.config_path);
    serverLog().info("weft-proxy ready: {} workers, {} listeners, {} clusters", concurrency,
                     snapshot_->listeners.size(), snapshot_->clusters.size());

    const auto drain_deadline = drainTimeout(snapshot_->source);
    signals_ = std::make_unique<SignalWatcher>(
        main_context_,
        [this, drain_deadline](int signal_number) {
          serverLog().info("signal {}: draining (deadline {} ms)", signal_number,
                           drain_deadline.count());
          watcher_.reset();
          for (auto& worker : workers_) {
            worker->drain(drain_deadline);
          }
          signals_->stop();
        },
        [this](int) { reload("SIGHUP"); });
    watcher_ = std::make_unique<ConfigFileWatcher>(main_context_, options_.config_path,
                                                   std::chrono::milliseconds(100),
                                                   [this] { reload("file change"); });
    if (!watcher_->error().empty()) {
      serverLog().warn("not watching {} for changes ({}); reload with SIGHUP", options_.config_path,
                       watcher_->error());
      watcher_.reset();
    }
    main_context_.run();
    for (auto& worker : workers_) {
      worker->join();
    }
    serverLog().info("weft-proxy stopped");
    return 0;
  }

 private:
  void logListening(const ListenerConfig& listener) {
    const auto& address = listener.address.address();
    serverLog().info("listener '{}' listening on {}{}{}:{}", listener.name,
                     address.is_v6() ? "[" : "", address.to_string(), address.is_v6() ? "]" : "",
                     listener.address.port());
  }

  // Loads the file again and, when it is valid and changed, hands the new
  // snapshot to every worker. A bad file is reported and the running config stays.
  void reload(const char* trigger) {
    std::string text = readFile(options_.config_path);
    if (text == last_config_text_ && std::string_view(trigger) != "SIGHUP") {
      return;  // an event that did not change the content
    }
    config::ConfigErrors errors;
    SnapshotPtr next = loadSnapshot(options_.config_path, errors);
    if (!next) {
      ++rejected_reloads_;
      serverLog().error("reload ({}) rejected, keeping the running config:\n{}", trigger,
                        config::formatErrors(errors));
      return;
    }
    // Listeners whose name and address stay keep their sockets; others are
    // opened (on every worker, before any is told) or closed.
    std::vector<const ListenerConfig*> added;
    std::vector<std::string> removed;
    for (const ListenerConfig& listener : next->listeners) {
      const ListenerConfig* old = snapshot_->findListener(listener.name);
      if (old == nullptr || !sameAddress(*old, listener)) {
        added.push_back(&listener);
        if (old != nullptr) {
          removed.push_back(listener.name);
        }
      }
    }
    for (const ListenerConfig& listener : snapshot_->listeners) {
      if (next->findListener(listener.name) == nullptr) {
        removed.push_back(listener.name);
      }
    }
    std::vector<std::vector<BoundListener>> bound(workers_.size());
    for (size_t i = 0; i < workers_.size(); ++i) {
      for (const ListenerConfig* listener : added) {
        BoundListener socket;
        if (std::string error = workers_[i]->bindListener(*listener, socket); !error.empty()) {
          ++rejected_reloads_;
          serverLog().error("reload ({}) rejected, keeping the running config: {}", trigger, error);
          return;  // sockets bound so far close as `bound` goes out of scope
        }
        bound[i].push_back(std::move(socket));
      }
    }
    for (size_t i = 0; i < workers_.size(); ++i) {
      workers_[i]->applySnapshot(next, std::move(bound[i]), removed);
    }
    for (const ListenerConfig* listener : added) {
      logListening(*listener);
    }
    snapshot_ = std::move(next);
    last_config_text_ = std::move(text);
    ++applied_reloads_;
    serverLog().info("config reloaded ({}): {} listeners, {} clusters", trigger,
                     snapshot_->listeners.size(), snapshot_->clusters.size());
  }

  ProxyOptions options_;
  SnapshotPtr snapshot_;
  boost::asio::io_context main_context_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<SignalWatcher> signals_;
  std::unique_ptr<ConfigFileWatcher> watcher_;
  std::string last_config_text_;
  uint64_t applied_reloads_ = 0;
  uint64_t rejected_reloads_ = 0;
};

}  // namespace

int runProxy(const ProxyOptions& options) {
  config::ConfigErrors errors;
  SnapshotPtr snapshot = loadSnapshot(options.config_path, errors);
  if (!snapshot) {
    std::cerr << config::formatErrors(errors) << "\n";
    serverLog().error("config {} rejected with {} error(s)", options.config_path, errors.size());
    return 1;
  }
  if (options.validate_only) {
    std::cout << options.config_path << ": OK (" << snapshot->listeners.size() << " listeners, "
              << snapshot->clusters.size() << " clusters)\n";
    return 0;
  }
  ProxyServer server(options, std::move(snapshot));
  return server.run();
}

}  // namespace weft::proxy
