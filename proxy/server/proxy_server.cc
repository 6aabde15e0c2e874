#include "proxy/server/proxy_server.h"

#include <malloc.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <set>
#include <string_view>
#include <thread>

#include "common/config/reflection_warmup.h"
#include "common/config/yaml_to_proto.h"
#include "common/log/logger.h"
#include "common/signals/signal_watcher.h"
#include "proxy/admin/admin_address.h"
#include "proxy/admin/admin_server.h"
#include "proxy/app_health/app_health_prober.h"
#include "proxy/http1/local_reply.h"
#include "proxy/identity/ca_client_config.h"
#include "proxy/identity/grpc_certificate_signer.h"
#include "proxy/identity/identity_secrets.h"
#include "proxy/identity/workload_certificate_manager.h"
#include "proxy/server/config_file_watcher.h"
#include "proxy/server/worker.h"
#include "proxy/snapshot/snapshot_builder.h"
#include "proxy/stats/request_metrics.h"
#include "proxy/stats/security_counters.h"
#include "proxy/stats/traffic_counters.h"
#include "proxy/upstream/health/health_checker.h"
#include "proxy/xds/ads_client.h"
#include "proxy/xds/control_plane_tls.h"

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

// What reload() compares to tell a real edit from an event that left the file
// as it was. A digest rather than the text itself: the text would keep the
// config file's size resident (a megabyte for 1,000 services), and the digest
// is computed while reading in small pieces. Two contents of one file colliding
// on both size and a 64-bit FNV-1a hash is not a practical concern; SIGHUP
// reloads unconditionally in any case.
struct ContentDigest {
  uint64_t size = 0;
  uint64_t hash = 14695981039346656037ull;  // FNV-1a offset basis

  void update(std::string_view bytes) {
    for (const char c : bytes) {
      hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    }
    size += bytes.size();
  }
  static ContentDigest of(std::string_view text) {
    ContentDigest digest;
    digest.update(text);
    return digest;
  }
  bool operator==(const ContentDigest&) const = default;
};

// The digest of the bootstrap as it is now; an unreadable file digests as empty, and the
// reload that follows reports why.
ContentDigest digestSource(const BootstrapSource& source) {
  ContentDigest digest;
  if (source.fromEnvironment()) {
    std::string text;
    source.read(text);
    digest.update(text);
    return digest;
  }
  std::ifstream file(source.file_path, std::ios::binary);
  std::array<char, 16 * 1024> chunk;
  while (file.read(chunk.data(), chunk.size()) || file.gcount() > 0) {
    digest.update(std::string_view(chunk.data(), static_cast<size_t>(file.gcount())));
  }
  return digest;
}

// Workers: --concurrency, else the bootstrap's concurrency, else one per core.
uint32_t resolveConcurrency(const ProxyOptions& options, const weft::v1::Bootstrap& bootstrap) {
  uint32_t concurrency = options.concurrency;
  if (concurrency == 0) {
    concurrency = bootstrap.concurrency();
  }
  if (concurrency == 0) {
    concurrency = std::max(1u, std::thread::hardware_concurrency());
  }
  return concurrency;
}

// Reads the YAML file into a Bootstrap on a short-lived thread and hands it
// back serialized. Parsing makes many small transient allocations (the YAML
// tree, field positions) that would otherwise sit between the long-lived
// config objects and keep their pages resident; on its own thread they live in
// that thread's malloc arena, which is freed whole when it ends.
// `digest` is set to that of the text loaded, even when it has errors.
config::ConfigErrors loadBootstrapIsolated(const BootstrapSource& source, weft::v1::Bootstrap& out,
                                           ContentDigest& digest) {
  config::ConfigErrors errors;
  std::string serialized;
  config::warmReflection(*weft::v1::Bootstrap::descriptor());
  std::thread loader([&] {
    std::string text;
    errors = source.read(text);
    if (!errors.empty()) {
      return;
    }
    digest = ContentDigest::of(text);
    weft::v1::Bootstrap parsed;
    errors = config::loadYaml(text, source.name(), parsed);
    if (errors.empty()) {
      parsed.SerializeToString(&serialized);
    }
  });
  loader.join();
  if (errors.empty()) {
    out.ParseFromString(serialized);
  }
  return errors;
}

// Loads and builds a snapshot for `workers` workers (0: as many as the
// bootstrap asks for); errors are returned, never thrown. `identity_secrets`
// (the workload certificate's, when the proxy has one) join the file's secrets;
// `file_source`, when given, receives the file's configuration without them,
// serialized.
SnapshotPtr loadSnapshot(const ProxyOptions& options, uint32_t workers,
                         config::ConfigErrors& errors, ContentDigest& digest,
                         const std::vector<weft::v1::Secret>& identity_secrets = {},
                         std::string* file_source = nullptr) {
  weft::v1::Bootstrap bootstrap;
  errors = loadBootstrapIsolated(options.bootstrap, bootstrap, digest);
  if (!errors.empty()) {
    return nullptr;
  }
  if (workers == 0) {
    workers = resolveConcurrency(options, bootstrap);
  }
  if (file_source != nullptr) {
    bootstrap.SerializeToString(file_source);
  }
  identity::addMissingSecrets(identity_secrets, bootstrap);
  return buildSnapshot(bootstrap, options.bootstrap.name(), errors, workers);
}

// Parts of dynamic_resources this version does not implement yet: refused, never ignored.
std::string unsupportedDynamicSettings(const weft::v1::Bootstrap& bootstrap) {
  const auto& dynamic = bootstrap.dynamic_resources();
  const std::string kNotYet = ": is not implemented by this version of weft-proxy yet; remove it";
  // Top-level blocks of the bootstrap API that this version does not act on: refused rather
  // than accepted and ignored.
  if (bootstrap.has_overload()) {
    return "overload" + kNotYet;
  }
  if (dynamic.has_ca()) {
    identity::CaClientConfig ca;
    if (std::string error = identity::caClientConfigFrom(bootstrap, ca); !error.empty()) {
      return error;
    }
  }
  if (!dynamic.has_ads()) {
    return {};
  }
  const auto& ads = dynamic.ads();
  if (ads.mode() != weft::v1::AdsConfig::STATE_OF_THE_WORLD) {
    return "dynamic_resources.ads.mode" + kNotYet;
  }
  if (ads.resource_types_size() > 0) {
    return "dynamic_resources.ads.resource_types" + kNotYet;
  }
  if (!ads.server().has_address()) {
    return "dynamic_resources.ads.server.cluster" + kNotYet + " (give the address)";
  }
  if (ads.server().has_tls()) {
    std::string error;
    if (!xds::ControlPlaneTls::from(ads.server().tls(), ads.server().address().address(),
                                    "dynamic_resources.ads.server.tls", error)) {
      return error;
    }
  }
  return {};
}

bool sameAddress(const ListenerConfig& a, const ListenerConfig& b) {
  return a.address == b.address;
}

// Owns the workers and the main thread's duties: signals, reloads, shutdown.
class ProxyServer {
 public:
  ProxyServer(const ProxyOptions& options, SnapshotPtr snapshot, ContentDigest loaded,
              bool bootstrap_has_ads, AppProbes app_probes)
      : options_(options),
        snapshot_(std::move(snapshot)),
        last_config_(loaded),
        bootstrap_has_ads_(bootstrap_has_ads),
        app_probes_(std::move(app_probes)) {}

  int run() {
    uint32_t concurrency = 0;
    boost::asio::ip::tcp::endpoint admin_address;
    std::optional<boost::asio::ip::tcp::endpoint> status_address;
    {
      // Scoped: the parsed message is only needed for these settings.
      const weft::v1::Bootstrap bootstrap = snapshot_->bootstrap();
      concurrency = resolveConcurrency(options_, bootstrap);
      drain_deadline_ = drainTimeout(bootstrap);
      // The admin endpoint binds first: a bad or busy admin address stops
      // start-up before any worker thread exists.
      if (std::string error = admin::adminAddress(bootstrap, admin_address); !error.empty()) {
        std::cerr << "weft-proxy: " << error << "\n";
        serverLog().error("{}", error);
        return 1;
      }
      std::string error = admin::statusAddress(bootstrap, status_address);
      std::vector<double> buckets;
      if (error.empty()) {
        error = histogramBuckets(bootstrap, buckets);
      }
      if (!error.empty()) {
        std::cerr << "weft-proxy: " << error << "\n";
        serverLog().error("{}", error);
        return 1;
      }
      request_metrics_ =
          std::make_unique<RequestMetricsRegistry>(std::move(buckets), responseFlagNames());
      record_metrics_ = !bootstrap.stats().disable_request_metrics();
    }
    if (bootstrap_has_ads_) {
      const weft::v1::Bootstrap bootstrap = snapshot_->bootstrap();
      for (const auto& cluster : bootstrap.static_resources().clusters()) {
        static_clusters_.insert(cluster.name());
      }
      ads_ = std::make_unique<xds::AdsClient>(
          main_context_, bootstrap,
          [concurrency](const weft::v1::Bootstrap& assembled, config::ConfigErrors& errors) {
            return buildSnapshot(assembled, "xds", errors, concurrency);
          },
          [this](SnapshotPtr next, const std::string& versions) {
            return applySnapshot(std::move(next), "xds " + versions);
          });
      // Static stability: a configuration persisted by an earlier run serves before the
      // control plane answers.
      if (SnapshotPtr restored = ads_->restorePersisted()) {
        snapshot_ = std::move(restored);
      }
    }
    createWorkloadCertificateManager();
    ::malloc_trim(0);
    admin::AdminOptions admin_options;
    admin_options.address = admin_address;
    admin_ = std::make_unique<admin::AdminServer>(main_context_, admin_options,
                                                  adminCallbacks(concurrency));
    if (std::string error = admin_->listen(); !error.empty()) {
      std::cerr << "weft-proxy: " << error << "\n";
      serverLog().error("{}", error);
      return 1;
    }
    if (status_address) {
      if (!app_probes_.empty()) {
        app_health_ = std::make_unique<AppHealthProber>(main_context_, std::move(app_probes_));
      }
      admin::AdminOptions status_options;
      status_options.role = admin::AdminRole::kStatus;
      status_options.address = *status_address;
      status_ = std::make_unique<admin::AdminServer>(main_context_, status_options,
                                                     adminCallbacks(concurrency));
      if (std::string error = status_->listen(); !error.empty()) {
        std::cerr << "weft-proxy: status_server: " << error << "\n";
        serverLog().error("status_server: {}", error);
        return 1;
      }
    }

    health_checker_ = std::make_unique<HealthChecker>(main_context_);
    health_checker_->adopt(snapshot_);
    // Watched before anything says the proxy is up, so that an edit made the moment it does is
    // seen; one made between loading the file and here is caught by the check posted below
    // (reload() does nothing when the content is what was loaded). Not watched: a variable,
    // which cannot change while the process runs, and the file of a proxy with a control
    // plane, whose dynamic configuration is merged into the bootstrap's (re-reading the file
    // alone would drop it; bootstrap changes take a restart then).
    if (!options_.bootstrap.fromEnvironment() && !ads_) {
      watcher_ = std::make_unique<ConfigFileWatcher>(main_context_, options_.bootstrap.file_path,
                                                     std::chrono::milliseconds(100),
                                                     [this] { reload("file change"); });
      if (!watcher_->error().empty()) {
        serverLog().warn("not watching {} for changes ({}); reload with SIGHUP",
                         options_.bootstrap.file_path, watcher_->error());
        watcher_.reset();
      }
    }
    if (watcher_) {
      boost::asio::post(main_context_, [this] { reload("file change"); });
    }
    if (options_.bootstrap.fromEnvironment()) {
      serverLog().info(
          "bootstrap from the environment variable {} (not watched: it cannot "
          "change while the proxy runs)",
          options_.bootstrap.env_variable);
    }
    // Signals are taken over before the proxy says it is ready: a SIGTERM sent the moment it
    // does must drain, not kill it (the handlers run once the main loop runs).
    signals_ = std::make_unique<SignalWatcher>(
        main_context_,
        [this](int signal_number) { shutdown("signal " + std::to_string(signal_number)); },
        [this](int) { reload("SIGHUP"); });
    std::vector<std::vector<BoundListener>> bound(concurrency);
    for (uint32_t i = 0; i < concurrency; ++i) {
      workers_.push_back(
          std::make_unique<Worker>(i, snapshot_, *request_metrics_, record_metrics_));
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
    serverLog().info("weft-proxy ready: {} workers, {} listeners, {} clusters", concurrency,
                     snapshot_->listeners.size(), snapshot_->clusters.size());

    serverLog().info("admin listening on {}", admin::endpointAddress(boost::asio::ip::tcp::endpoint(
                                                  admin_address.address(), admin_->port())));
    if (status_) {
      serverLog().info("status endpoint (/healthz/ready, /metrics{}) listening on {}",
                       app_health_ ? ", /app-health/<key> for " +
                                         std::to_string(app_health_->size()) + " app probes"
                                   : std::string(),
                       admin::endpointAddress(boost::asio::ip::tcp::endpoint(
                           status_address->address(), status_->port())));
    }
    if (ads_) {
      ads_->setAdminAddress(admin::endpointAddress(
          boost::asio::ip::tcp::endpoint(admin_address.address(), admin_->port())));
      ads_->start();
    }
    if (identity_) {
      identity_->start();
    }
    main_context_.run();
    for (auto& worker : workers_) {
      worker->join();
    }
    serverLog().info("weft-proxy stopped");
    return 0;
  }

 private:
  // Stops accepting and lets connections finish; the main loop (and admin) keeps running.
  void beginDrain(const std::string& reason) {
    if (draining_) {
      return;
    }
    draining_ = true;
    serverLog().info("{}: draining (deadline {} ms)", reason, drain_deadline_.count());
    watcher_.reset();
    for (auto& worker : workers_) {
      worker->drain(drain_deadline_);
    }
  }

  // Drains and lets main_context_.run() return, so run() joins the workers and exits 0.
  void shutdown(const std::string& reason) {
    beginDrain(reason);
    if (health_checker_) {
      health_checker_->stop();
    }
    if (ads_) {
      ads_->stop();
    }
    if (identity_) {
      identity_->stop();
    }
    if (signals_) {
      signals_->stop();
    }
    watcher_.reset();
    if (app_health_) {
      app_health_->stop();
    }
    if (admin_) {
      admin_->stop();
    }
    if (status_) {
      status_->stop();
    }
  }

  // GET /app-health/<key> on the status port.
  boost::asio::awaitable<std::optional<admin::AppProbeOutcome>> probeApplication(
      const std::string& key) {
    if (!app_health_) {
      co_return std::nullopt;
    }
    const std::optional<ProbeResult> result = co_await app_health_->probe(key);
    if (!result) {
      co_return std::nullopt;
    }
    co_return admin::AppProbeOutcome{result->success, result->detail};
  }

  admin::AdminCallbacks adminCallbacks(uint32_t concurrency) {
    admin::AdminCallbacks callbacks;
    callbacks.config_dump = [this] {
      return std::optional<admin::ConfigDump>(admin::ConfigDump{
          std::make_shared<const weft::v1::Bootstrap>(snapshot_->bootstrap()),
          ads_ && !ads_->appliedVersions().empty()
              ? ads_->appliedVersions()
              : "static-" + std::to_string(applied_reloads_),  // n: after the nth reload
          config_updated_, options_.bootstrap.name()});
    };
    callbacks.clusters = [this](admin::AdminCallbacks::ClustersDone done) {
      gatherClusterStatus(std::move(done));
    };
    callbacks.status = [this, concurrency] {
      if (!draining_ && ads_ && !ads_->hasApplied()) {
        // Not ready before the first configuration (from the control plane, or the persisted
        // one): the pod's captured traffic would find no listener. The injected sidecar's
        // startup probe and `weft-proxy wait` hold the app on this.
        return admin::ProxyStatus{admin::ServerState::kInitializing,
                                  "waiting for the first configuration from the control plane",
                                  concurrency, options_.bootstrap.name()};
      }
      if (!draining_ && identity_ && !identity_->hasValidCertificate()) {
        // Not ready without a certificate: mesh peers could not reach this workload.
        return admin::ProxyStatus{admin::ServerState::kInitializing, identity_->notReadyReason(),
                                  concurrency, options_.bootstrap.name()};
      }
      return admin::ProxyStatus{
          draining_ ? admin::ServerState::kDraining : admin::ServerState::kLive, "", concurrency,
          options_.bootstrap.name()};
    };
    if (identity_) {
      callbacks.certificates = [this] { return identity_->status(); };
    }
    callbacks.security_counters = [] { return securityCounters().load(); };
    callbacks.traffic_counters = [] { return trafficCounters().load(); };
    callbacks.cluster_gauges = [this] {
      // The circuit-breaker counts are shared by the workers (relaxed atomics): read in place.
      std::vector<admin::ClusterPoolGauges> gauges;
      gauges.reserve(snapshot_->clusters.size());
      for (const auto& [name, cluster] : snapshot_->clusters) {
        const ClusterCircuitCounts& counts = *cluster->circuit;
        constexpr auto kRelaxed = std::memory_order_relaxed;
        gauges.push_back(
            {name,
             counts.open_connections.load(kRelaxed) + counts.open_http2_connections.load(kRelaxed),
             counts.pending_requests.load(kRelaxed), counts.active_requests.load(kRelaxed),
             counts.active_retries.load(kRelaxed)});
      }
      std::sort(gauges.begin(), gauges.end(),
                [](const auto& a, const auto& b) { return a.cluster < b.cluster; });
      return gauges;
    };
    callbacks.request_metrics = [this](admin::AdminCallbacks::MetricsDone done) {
      gatherRequestMetrics(std::move(done));
    };
    callbacks.app_probe = [this](const std::string& key) { return probeApplication(key); };
    callbacks.drain = [this] { beginDrain("admin /drain_listeners"); };
    callbacks.quit = [this] { shutdown("admin /quitquitquit"); };
    return callbacks;
  }

  // /clusters: the endpoints of every cluster as configured, then each worker
  // adds, on its own thread, the active requests and health flags of the hosts
  // it has used. The last worker to answer completes the reply.
  void gatherClusterStatus(admin::AdminCallbacks::ClustersDone done) {
    struct Gathering {
      SnapshotPtr snapshot;
      std::vector<const ClusterConfig*> configs;
      std::vector<admin::ClusterStatus> clusters;
      size_t pending = 0;
      admin::AdminCallbacks::ClustersDone done;
    };
    auto gathering = std::make_shared<Gathering>();
    gathering->snapshot = snapshot_;
    gathering->done = std::move(done);
    for (const auto& [name, cluster] : snapshot_->clusters) {
      admin::ClusterStatus status{name, ads_ && static_clusters_.count(name) == 0, {}};
      for (const lb::LocalityConfig& locality : cluster->lb_factory->config().localities) {
        for (const lb::EndpointConfig& endpoint : locality.endpoints) {
          admin::EndpointHealth health = configuredHealth(endpoint.health);
          // Active health checking's verdict is known here, whether or not a worker has
          // sent the cluster a request yet.
          const size_t index = status.endpoints.size();
          if (cluster->active_health && cluster->active_health->failed(index)) {
            health = std::max(health, admin::EndpointHealth::kUnhealthy);
          }
          status.endpoints.push_back(
              {admin::endpointAddress(endpoint.address), endpoint.weight, health, 0});
        }
      }
      gathering->configs.push_back(cluster.get());
      gathering->clusters.push_back(std::move(status));
    }
    gathering->pending = workers_.size();
    if (workers_.empty()) {
      gathering->done(std::move(gathering->clusters));
      return;
    }
    for (uint32_t w = 0; w < workers_.size(); ++w) {
      workers_[w]->post([this, gathering, w] {
        // On worker w: its slots are written by it alone, so reading is safe here.
        using HostFacts = std::vector<std::pair<uint32_t, admin::EndpointHealth>>;
        std::vector<HostFacts> seen(gathering->configs.size());
        for (size_t c = 0; c < gathering->configs.size(); ++c) {
          const ClusterConfig& config = *gathering->configs[c];
          if (!config.per_worker[w]) {
            continue;
          }
          // workerState() first brings the hosts up to date with active health checking.
          for (const lb::Host& host : config.workerState(w).hosts->hosts()) {
            seen[c].emplace_back(host.activeRequests(), observedHealth(host));
          }
        }
        boost::asio::post(main_context_, [gathering, seen = std::move(seen)] {
          for (size_t c = 0; c < seen.size(); ++c) {
            auto& endpoints = gathering->clusters[c].endpoints;
            for (size_t h = 0; h < seen[c].size() && h < endpoints.size(); ++h) {
              endpoints[h].active_requests += seen[c][h].first;
              endpoints[h].health = std::max(endpoints[h].health, seen[c][h].second);
            }
          }
          if (--gathering->pending == 0) {
            gathering->done(std::move(gathering->clusters));
          }
        });
      });
    }
  }

  // /metrics: every worker hands its counts to the registry on its own thread, then the
  // registry renders them all. One round trip per scrape keeps the request path free of
  // shared counters and the scrape exact.
  void gatherRequestMetrics(admin::AdminCallbacks::MetricsDone done) {
    struct Gathering {
      explicit Gathering(boost::asio::io_context& context) : deadline(context) {}
      size_t pending = 0;
      admin::AdminCallbacks::MetricsDone done;  // empty once called
      boost::asio::steady_timer deadline;
    };
    auto gathering = std::make_shared<Gathering>(main_context_);
    gathering->pending = workers_.size();
    gathering->done = std::move(done);
    // Once all workers handed over, or after a second without one of them (a worker whose
    // thread is ending): what the registry has is shown either way.
    auto render = [this, gathering] {
      if (!gathering->done) {
        return;
      }
      gathering->deadline.cancel();
      std::string text;
      request_metrics_->render(text);
      std::exchange(gathering->done, nullptr)(std::move(text));
    };
    if (workers_.empty()) {
      render();
      return;
    }
    gathering->deadline.expires_after(std::chrono::seconds(1));
    gathering->deadline.async_wait([render](const boost::system::error_code& error) {
      if (!error) {
        render();
      }
    });
    for (auto& worker : workers_) {
      worker->flushRequestMetrics([this, gathering, render] {
        boost::asio::post(main_context_, [gathering, render] {
          if (--gathering->pending == 0) {
            render();
          }
        });
      });
    }
  }

  // StatsConfig.histogram_buckets, or the default ones.
  static std::string histogramBuckets(const weft::v1::Bootstrap& bootstrap,
                                      std::vector<double>& buckets) {
    const auto& configured = bootstrap.stats().histogram_buckets();
    if (configured.empty()) {
      buckets = RequestMetricsRegistry::defaultBuckets();
      return {};
    }
    buckets.assign(configured.begin(), configured.end());
    for (size_t i = 1; i < buckets.size(); ++i) {
      if (!(buckets[i] > buckets[i - 1])) {
        return "stats.histogram_buckets[" + std::to_string(i) + "]: " + std::to_string(buckets[i]) +
               " does not ascend from the bucket before it";
      }
    }
    return {};
  }

  static admin::EndpointHealth configuredHealth(lb::EdsHealth health) {
    switch (health) {
      case lb::EdsHealth::kUnhealthy:
        return admin::EndpointHealth::kUnhealthy;
      case lb::EdsHealth::kDraining:
        return admin::EndpointHealth::kDraining;
      case lb::EdsHealth::kDegraded:
        return admin::EndpointHealth::kDegraded;
      default:
        return admin::EndpointHealth::kHealthy;
    }
  }

  static admin::EndpointHealth observedHealth(const lb::Host& host) {
    if (host.hasFlag(lb::HostFlag::kOutlierEjected)) {
      return admin::EndpointHealth::kEjected;
    }
    switch (host.health()) {
      case lb::HostHealth::kDegraded:
        return admin::EndpointHealth::kDegraded;
      case lb::HostHealth::kUnhealthy:
        return admin::EndpointHealth::kUnhealthy;
      case lb::HostHealth::kDraining:
        return admin::EndpointHealth::kDraining;
      default:
        return admin::EndpointHealth::kHealthy;
    }
  }

  void logListening(const ListenerConfig& listener) {
    const auto& address = listener.address.address();
    serverLog().info("listener '{}' listening on {}{}{}:{}", listener.name,
                     address.is_v6() ? "[" : "", address.to_string(), address.is_v6() ? "]" : "",
                     listener.address.port());
  }

  // Loads the file again and, when it is valid and changed, hands the new
  // snapshot to every worker. A bad file is reported and the running config stays.
  void reload(const char* trigger) {
    if (draining_) {
      return;
    }
    if (ads_) {
      serverLog().warn(
          "{} ignored: the configuration comes from the control plane (restart to "
          "change the bootstrap)",
          trigger);
      return;
    }
    if (digestSource(options_.bootstrap) == last_config_ && std::string_view(trigger) != "SIGHUP") {
      return;  // an event that did not change the content
    }
    config::ConfigErrors errors;
    // The workers stay as they are: the new snapshot is made for their number.
    ContentDigest digest;
    std::string file_source;
    SnapshotPtr next =
        loadSnapshot(options_, static_cast<uint32_t>(workers_.size()), errors, digest,
                     identity_ ? identity_->secrets() : std::vector<weft::v1::Secret>{},
                     identity_ ? &file_source : nullptr);
    if (next && identity_) {
      // The certificate's settings are read at start; but a static "identity" added beside
      // the CA would silently win over the certificate, so it is refused.
      weft::v1::Bootstrap file;
      file.ParseFromString(file_source);
      if (std::string error = identity::staticIdentityConflict(file); !error.empty()) {
        ++rejected_reloads_;
        serverLog().error("reload ({}) rejected, keeping the running config: {}", trigger, error);
        return;
      }
    }
    if (!next) {
      ++rejected_reloads_;
      serverLog().error("reload ({}) rejected, keeping the running config:\n{}", trigger,
                        config::formatErrors(errors));
      return;
    }
    if (std::string error = applySnapshot(std::move(next), trigger); !error.empty()) {
      ++rejected_reloads_;
      serverLog().error("reload ({}) rejected, keeping the running config: {}", trigger, error);
      return;
    }
    last_config_ = digest;
    if (identity_) {
      file_source_ = std::move(file_source);
    }
    ::malloc_trim(0);  // the loader's transient memory, as at start-up
  }

  // With dynamic_resources.ca: the manager that keeps the workload certificate, whose secrets
  // join every configuration. Created before the admin server (whose /certs and /ready ask it),
  // started with the main loop.
  void createWorkloadCertificateManager() {
    const weft::v1::Bootstrap bootstrap = snapshot_->bootstrap();
    if (!bootstrap.dynamic_resources().has_ca()) {
      return;
    }
    identity::CaClientConfig config;
    // Checked in runProxy() already.
    if (std::string error = identity::caClientConfigFrom(bootstrap, config); !error.empty()) {
      serverLog().error("{}", error);
      return;
    }
    if (!ads_) {
      // The file as loaded, to add each new certificate to (the snapshot's copy has the
      // previous one in it).
      bootstrap.SerializeToString(&file_source_);
    }
    auto signer = std::make_unique<identity::GrpcCertificateSigner>(main_context_, config);
    identity_ = std::make_unique<identity::WorkloadCertificateManager>(
        main_context_, config, bootstrap.node(), std::move(signer),
        [this](const std::vector<weft::v1::Secret>& secrets) { installIdentitySecrets(secrets); },
        &identity::WorkloadCertificateManager::systemClock,
        ExponentialBackoff(identity::WorkloadCertificateManager::defaultBackoff()));
  }

  // A new certificate (or its withdrawal at expiry): the same configuration with the new
  // secrets, published like a reload, so open connections stay and new handshakes use it.
  void installIdentitySecrets(const std::vector<weft::v1::Secret>& secrets) {
    if (draining_) {
      return;
    }
    if (ads_) {
      ads_->setLocalSecrets(secrets);
      return;
    }
    weft::v1::Bootstrap config;
    config.ParseFromString(file_source_);
    identity::addMissingSecrets(secrets, config);
    config::ConfigErrors errors;
    SnapshotPtr next = buildSnapshot(config, options_.bootstrap.name(), errors,
                                     static_cast<uint32_t>(workers_.size()));
    if (!next) {
      serverLog().error("the configuration with the new workload certificate was refused:\n{}",
                        config::formatErrors(errors));
      return;
    }
    if (std::string error = applySnapshot(std::move(next), "workload certificate");
        !error.empty()) {
      serverLog().error("the configuration with the new workload certificate was not applied: {}",
                        error);
    }
  }

  // Hands a new snapshot to every worker. Listeners whose name and address stay keep their
  // sockets; others are opened (on every worker, before any is told) or closed. Returns an
  // empty string, or why nothing changed (an address that cannot be bound).
  std::string applySnapshot(SnapshotPtr next, const std::string& trigger) {
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
          return error;  // sockets bound so far close as `bound` goes out of scope
        }
        bound[i].push_back(std::move(socket));
      }
    }
    if (health_checker_) {
      health_checker_->adopt(next);
    }
    for (size_t i = 0; i < workers_.size(); ++i) {
      workers_[i]->applySnapshot(next, std::move(bound[i]), removed);
    }
    for (const ListenerConfig* listener : added) {
      logListening(*listener);
    }
    snapshot_ = std::move(next);
    ++applied_reloads_;
    config_updated_ = std::chrono::system_clock::now();
    serverLog().info("config reloaded ({}): {} listeners, {} clusters", trigger,
                     snapshot_->listeners.size(), snapshot_->clusters.size());
    return {};
  }

  ProxyOptions options_;
  SnapshotPtr snapshot_;
  boost::asio::io_context main_context_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<SignalWatcher> signals_;
  std::unique_ptr<ConfigFileWatcher> watcher_;
  ContentDigest last_config_;
  uint64_t applied_reloads_ = 0;
  uint64_t rejected_reloads_ = 0;
  std::chrono::milliseconds drain_deadline_{5000};
  std::chrono::system_clock::time_point config_updated_ = std::chrono::system_clock::now();
  bool draining_ = false;
  bool bootstrap_has_ads_ = false;
  std::unique_ptr<xds::AdsClient> ads_;
  // With dynamic_resources.ca: the workload certificate.
  std::unique_ptr<identity::WorkloadCertificateManager> identity_;
  // Without a control plane: the file's configuration as last loaded, serialized, which each
  // new certificate is added to.
  std::string file_source_;
  // With a control plane: the clusters of the bootstrap file (the others came over xDS).
  std::set<std::string> static_clusters_;
  // Probes the endpoints of clusters with a health_check; on main_context_.
  std::unique_ptr<HealthChecker> health_checker_;
  // The status port's application probes, until run() hands them to app_health_.
  AppProbes app_probes_;
  // Runs them for GET /app-health/<key>; outlives the status server that calls it.
  std::unique_ptr<AppHealthProber> app_health_;
  // Last: destroyed before the workers and the main context it refers to.
  std::unique_ptr<admin::AdminServer> admin_;
  std::unique_ptr<admin::AdminServer> status_;  // with status_server: /healthz/ready, /metrics
  // The golden metrics, as the workers hand them over at each scrape.
  std::unique_ptr<RequestMetricsRegistry> request_metrics_;
  bool record_metrics_ = true;  // StatsConfig.disable_request_metrics unset
};

}  // namespace

int runProxy(const ProxyOptions& options) {
  config::ConfigErrors errors;
  ContentDigest loaded;
  SnapshotPtr snapshot = loadSnapshot(options, 0, errors, loaded);
  if (!snapshot) {
    std::cerr << config::formatErrors(errors) << "\n";
    serverLog().error("config {} rejected with {} error(s)", options.bootstrap.name(),
                      errors.size());
    return 1;
  }
  const weft::v1::Bootstrap bootstrap = snapshot->bootstrap();
  AppProbes app_probes;
  if (std::string error = readAppProbes(bootstrap.status_server(), app_probes); !error.empty()) {
    std::cerr << options.bootstrap.name() << ": " << error << "\n";
    serverLog().error("config {} rejected: {}", options.bootstrap.name(), error);
    return 1;
  }
  if (options.validate_only) {
    std::cout << options.bootstrap.name() << ": OK (" << snapshot->listeners.size()
              << " listeners, " << snapshot->clusters.size() << " clusters)\n";
    return 0;
  }
  // Loading builds large transient structures (YAML tree, field positions);
  // hand the freed pages back so the idle footprint is the snapshot's.
  ::malloc_trim(0);
  if (std::string error = unsupportedDynamicSettings(bootstrap); !error.empty()) {
    std::cerr << options.bootstrap.name() << ": " << error << "\n";
    serverLog().error("config {} rejected: {}", options.bootstrap.name(), error);
    return 1;
  }
  ProxyServer server(options, std::move(snapshot), loaded, bootstrap.dynamic_resources().has_ads(),
                     std::move(app_probes));
  return server.run();
}

}  // namespace weft::proxy
