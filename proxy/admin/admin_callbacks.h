#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "proxy/admin/certificate_status.h"
#include "proxy/admin/cluster_status.h"
#include "proxy/admin/config_dump.h"
#include "proxy/stats/security_counters.h"
#include "proxy/stats/traffic_counters.h"

namespace weft::proxy::admin {

// Which endpoints a server offers.
enum class AdminRole {
  kAdmin,   // the local admin endpoint (127.0.0.1:15000): everything, POSTs included
  kStatus,  // the pod-facing status endpoint (15020): /healthz/ready, /metrics, /app-health/<key>
};

// The proxy's lifecycle, as /ready, /healthz and /server_info report it.
enum class ServerState {
  kInitializing,  // waiting for its first configuration (or certificate)
  kLive,          // serving
  kDraining,      // stopping: listeners closed, connections finishing
};

// "INITIALIZING", "LIVE" or "DRAINING" (Envoy's names, which tools already parse).
std::string_view serverStateName(ServerState state);

struct ProxyStatus {
  ServerState state = ServerState::kInitializing;
  // Why the proxy is not LIVE, e.g. "waiting for the first configuration"; shown by /ready.
  std::string reason;
  // Worker threads.
  uint32_t concurrency = 0;
  // Where the bootstrap came from (a file's path, or "$NAME" for an environment variable), for
  // /server_info; empty: not shown.
  std::string config_source{};
};

// What one run of an application probe found (GET /app-health/<key> on the status port).
struct AppProbeOutcome {
  bool passed = false;
  std::string reason{};  // why it failed, one line
};

// How the admin server reaches the proxy. The server knows nothing of snapshots or workers:
// it asks through these callbacks and renders what they return.
//
// Every callback runs on the thread running the admin server's io_context (the proxy's main
// thread) and must not block it; anything owned by workers is gathered asynchronously, which
// is why `clusters` completes through a callback. A callback left empty makes its endpoint
// answer 501 (for `status`: /ready answers 503, /healthz 200; /stats/prometheus leaves out
// the metrics of an empty `security_counters` or `certificates`).
struct AdminCallbacks {
  // The active configuration, or nullopt before there is one (/config_dump answers 503).
  std::function<std::optional<ConfigDump>()> config_dump;

  // Gathers the clusters' state and hands it to `done`, exactly once, from any thread (e.g.
  // after a round trip through every worker). `done` may also be called before `clusters`
  // returns. An answer later than AdminOptions::provider_timeout is dropped and the request
  // gets 503. Call it before the admin io_context is destroyed, or not at all.
  using ClustersDone = std::function<void(std::vector<ClusterStatus>)>;
  std::function<void(ClustersDone done)> clusters;

  // The lifecycle state. After a drain or quit request the server reports DRAINING whatever
  // this returns.
  std::function<ProxyStatus()> status;

  // The workload certificate (/certs, and its metrics on /stats/prometheus). Empty when the
  // proxy requests none (dynamic_resources.ca unset): /certs then answers 404.
  std::function<CertificateStatus()> certificates;

  // The security layers' counters at this instant (/stats/prometheus).
  std::function<SecurityCounterValues()> security_counters;
  // The traffic policies' counters at this instant (/stats/prometheus).
  std::function<TrafficCounterValues()> traffic_counters;
  // Every cluster's connection-pool state at this instant (/stats/prometheus).
  std::function<std::vector<ClusterPoolGauges>()> cluster_gauges;

  // The golden request metrics, rendered in the Prometheus text format once every worker has
  // handed over its counts, given to `done` from any thread (/stats/prometheus and the status
  // server's /metrics). Waited for like `clusters`.
  using MetricsDone = std::function<void(std::string)>;
  std::function<void(MetricsDone done)> request_metrics;

  // POST /drain_listeners (or /drain): stop accepting, close connections gracefully. Called at
  // most once per server; it should return at once (workers drain on their own threads) and
  // must leave the admin server running, so the operator can still watch the drain.
  std::function<void()> drain;

  // GET /app-health/<key> on the status port: runs the application's probe named `key` now and
  // gives its outcome (200 or 503), or nullopt when there is no such probe (404). A coroutine on
  // the admin server's thread, bounded by the probe's own timeout (the admin server sets none
  // for it); `key` lives until it returns. Empty: every key is unknown.
  std::function<boost::asio::awaitable<std::optional<AppProbeOutcome>>(const std::string& key)>
      app_probe;

  // POST /quitquitquit: drain, then exit. Called after the response has been sent, so it may
  // stop the admin server (AdminServer::stop()) and the main loop. Called at most once.
  std::function<void()> quit;
};

}  // namespace weft::proxy::admin
