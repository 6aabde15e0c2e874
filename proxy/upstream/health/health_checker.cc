#include "proxy/upstream/health/health_checker.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <vector>

#include "common/log/logger.h"
#include "proxy/stats/traffic_counters.h"
#include "proxy/upstream/health/health_probe.h"

namespace weft::proxy {
namespace {

namespace asio = boost::asio;

spdlog::logger& healthLog() {
  static spdlog::logger& logger = weft::log::logger("health_check");
  return logger;
}

std::string addressText(const asio::ip::tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  return (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" +
         std::to_string(endpoint.port());
}

}  // namespace

// One endpoint's probe loop. `snapshot`, `cluster` and `indices` say where its verdict goes
// now; adopt() moves them to each new snapshot.
struct HealthChecker::Prober {
  explicit Prober(asio::io_context& context) : timer(context) {}

  SnapshotPtr snapshot;
  const ClusterConfig* cluster = nullptr;
  // The endpoint's positions in the cluster (one, unless the address is listed twice).
  std::vector<uint32_t> indices;
  asio::ip::tcp::endpoint address;
  asio::ip::tcp::endpoint probed;  // `address`, or its health_check_port
  EndpointHealthState state;
  asio::steady_timer timer;
  std::optional<UpstreamConnection> connection;  // the probe in flight
  bool stopped = false;
};

HealthChecker::HealthChecker(asio::io_context& context)
    : context_(context), random_(std::random_device{}()) {}

HealthChecker::~HealthChecker() {
  stop();
}

void HealthChecker::adopt(const SnapshotPtr& snapshot) {
  if (stopped_) {
    return;
  }
  std::map<Key, std::shared_ptr<Prober>> next;
  std::vector<std::shared_ptr<Prober>> started;
  for (const auto& [name, cluster] : snapshot->clusters) {
    if (!cluster->health_check) {
      continue;
    }
    uint32_t index = 0;
    for (const lb::LocalityConfig& locality : cluster->lb_factory->config().localities) {
      for (const lb::EndpointConfig& endpoint : locality.endpoints) {
        const uint16_t check_port =
            index < cluster->health_check_ports.size() ? cluster->health_check_ports[index] : 0;
        asio::ip::tcp::endpoint probed = endpoint.address;
        if (check_port != 0) {
          probed.port(check_port);
        }
        Key key{name, addressText(endpoint.address), probed.port()};
        std::shared_ptr<Prober>& prober = next[key];
        if (!prober) {
          if (auto known = probers_.find(key); known != probers_.end()) {
            prober = std::move(known->second);
            probers_.erase(known);
            // New settings (a shorter interval, another path) apply now, not after the old
            // interval. (Another port is another key: a new loop.)
            if (!(*prober->cluster->health_check == *cluster->health_check)) {
              prober->timer.cancel();
            }
          } else {
            prober = std::make_shared<Prober>(context_);
            prober->address = endpoint.address;
            prober->probed = probed;
            started.push_back(prober);
          }
          prober->indices.clear();
          prober->snapshot = snapshot;
          prober->cluster = cluster.get();
        }
        prober->indices.push_back(index);
        ++index;
      }
    }
  }
  for (auto& [key, prober] : probers_) {
    retire(*prober);
  }
  probers_ = std::move(next);
  for (const auto& [key, prober] : probers_) {
    if (prober->state.probed()) {
      publish(*prober);
    }
  }
  for (auto& prober : started) {
    asio::co_spawn(context_, run(std::move(prober)), asio::detached);
  }
}

void HealthChecker::stop() {
  stopped_ = true;
  for (auto& [key, prober] : probers_) {
    retire(*prober);
  }
  probers_.clear();
}

void HealthChecker::retire(Prober& prober) {
  prober.stopped = true;
  prober.timer.cancel();
  if (prober.connection) {
    prober.connection->stream.close();
  }
  prober.snapshot.reset();
  prober.cluster = nullptr;
}

void HealthChecker::publish(const Prober& prober) {
  ActiveHealthVerdicts& verdicts = *prober.cluster->active_health;
  for (uint32_t index : prober.indices) {
    verdicts.set(index, !prober.state.healthy());
  }
}

std::chrono::milliseconds HealthChecker::nextInterval(const HealthCheckConfig& config) {
  if (config.interval_jitter.count() <= 0) {
    return config.interval;
  }
  std::uniform_int_distribution<int64_t> jitter(0, config.interval_jitter.count());
  return config.interval + std::chrono::milliseconds(jitter(random_));
}

asio::awaitable<void> HealthChecker::run(std::shared_ptr<Prober> prober) {
  TrafficCounters& counters = trafficCounters();
  while (!prober->stopped) {
    ProbeResult result;
    {
      // Held for the probe only (adopt() may move the prober to a newer snapshot meanwhile),
      // not through the wait: a sleeping loop must not keep a replaced snapshot alive.
      const SnapshotPtr snapshot = prober->snapshot;
      const ClusterConfig& cluster = *prober->cluster;
      const uint32_t index = prober->indices.front();
      prober->connection.emplace(DeadlineStream(context_));
      result = co_await probeEndpoint(*prober->connection, *cluster.health_check, prober->probed,
                                      cluster.transportForIndex(index), tls_sessions_);
      prober->connection.reset();
    }
    if (prober->stopped) {
      co_return;
    }
    counters.health_checks.fetch_add(1, std::memory_order_relaxed);
    if (!result.success) {
      counters.health_check_failures.fetch_add(1, std::memory_order_relaxed);
    }
    // The settings in force now: the update may have changed the thresholds.
    const HealthCheckConfig& current = *prober->cluster->health_check;
    const bool first = !prober->state.probed();
    switch (prober->state.record(result.success, current)) {
      case EndpointHealthState::Change::kBecameHealthy:
        healthLog().info("endpoint {} of cluster '{}' is healthy{}", addressText(prober->address),
                         prober->cluster->name, first ? " (first probe)" : "");
        break;
      case EndpointHealthState::Change::kBecameUnhealthy:
        counters.health_check_unhealthy.fetch_add(1, std::memory_order_relaxed);
        healthLog().warn("endpoint {} of cluster '{}' is unhealthy after {} failed probes: {}",
                         addressText(prober->address), prober->cluster->name,
                         prober->state.consecutiveFailures(), result.detail);
        break;
      case EndpointHealthState::Change::kNone:
        if (first) {
          healthLog().warn(
              "endpoint {} of cluster '{}' takes no traffic until a probe succeeds: {}",
              addressText(prober->address), prober->cluster->name, result.detail);
        }
        break;
    }
    publish(*prober);
    prober->timer.expires_after(nextInterval(current));
    co_await prober->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace weft::proxy
