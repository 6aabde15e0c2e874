#include "proxy/snapshot/snapshot_builder.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "common/config/field_path.h"
#include "proxy/authz/policy_compiler.h"
#include "proxy/http2/header_translation.h"
#include "proxy/upstream/lb/lb_config_proto.h"

namespace weft::proxy {
namespace {

using config::appendField;
using config::appendIndex;

// Rounds up, so a sub-millisecond timeout stays a timeout rather than becoming
// 0, which means "none".
std::chrono::milliseconds toMillis(const google::protobuf::Duration& duration) {
  return std::chrono::milliseconds(duration.seconds() * 1000 +
                                   (duration.nanos() + 999'999) / 1'000'000);
}

class SnapshotBuilder {
 public:
  SnapshotBuilder(std::string_view source, uint32_t worker_count, config::ConfigErrors& errors)
      : source_(source), worker_count_(worker_count == 0 ? 1 : worker_count), errors_(errors) {}

  SnapshotPtr build(const weft::v1::Bootstrap& bootstrap) {
    node_ = &bootstrap.node();
    if (bootstrap.has_access_log()) {
      default_access_log_ = readAccessLog(bootstrap.access_log(), "access_log");
    }
    auto snapshot = std::make_shared<Snapshot>();
    bootstrap.SerializeToString(&snapshot->source);
    const auto& resources = bootstrap.static_resources();
    const std::string resources_path = "static_resources";
    const std::string secrets_path = appendField(resources_path, "secrets");
    for (int i = 0; i < resources.secrets_size(); ++i) {
      const auto& secret = resources.secrets(i);
      if (!secrets_.emplace(secret.name(), &secret).second) {
        fail(appendField(appendIndex(secrets_path, i), "name"),
             "duplicate secret name \"" + secret.name() + "\"");
      }
    }

    const std::string policies_path = appendField(resources_path, "authorization_policies");
    for (int i = 0; i < resources.authorization_policies_size(); ++i) {
      const auto& policy = resources.authorization_policies(i);
      const std::string path = appendIndex(policies_path, i);
      if (policies_.count(policy.name()) != 0) {
        fail(appendField(path, "name"), "duplicate authorization policy \"" + policy.name() + "\"");
        continue;
      }
      if (auto compiled = authz::compileAuthorizationPolicy(policy, path, errors_)) {
        policies_.emplace(policy.name(), std::move(compiled));
      }
    }
    const std::string clusters_path = appendField(resources_path, "clusters");
    for (int i = 0; i < resources.clusters_size(); ++i) {
      addCluster(*snapshot, resources.clusters(i), appendIndex(clusters_path, i));
    }
    if (bootstrap.has_tracing()) {
      readTracing(*snapshot, bootstrap.tracing());
    }
    const std::string listeners_path = appendField(resources_path, "listeners");
    std::set<std::pair<std::string, uint16_t>> addresses;
    for (int i = 0; i < resources.listeners_size(); ++i) {
      const std::string path = appendIndex(listeners_path, i);
      addListener(*snapshot, resources.listeners(i), path);
      if (!snapshot->listeners.empty() && snapshot->listeners.size() == addresses.size() + 1) {
        const auto& address = snapshot->listeners.back().address;
        if (!addresses.insert({address.address().to_string(), address.port()}).second) {
          fail(appendField(path, "address"), "another listener already uses this address");
        }
      }
    }
    if (!errors_.empty()) {
      return nullptr;
    }
    return snapshot;
  }

 private:
  void fail(std::string path, std::string reason) {
    errors_.push_back(
        config::ConfigError{std::string(source_), std::move(path), 0, 0, std::move(reason)});
  }

  void notYet(const std::string& path) {
    fail(path, "is not implemented by this version of weft-proxy yet; remove it");
  }

  // Every field of `message` that is set but not named in `implemented` is an
  // error: a setting the proxy would otherwise ignore without a word.
  void onlyImplemented(const google::protobuf::Message& message, const std::string& path,
                       std::initializer_list<std::string_view> implemented) {
    std::vector<const google::protobuf::FieldDescriptor*> fields;
    message.GetReflection()->ListFields(message, &fields);
    for (const google::protobuf::FieldDescriptor* field : fields) {
      if (std::find(implemented.begin(), implemented.end(), field->name()) == implemented.end()) {
        notYet(appendField(path, field->name()));
      }
    }
  }

  bool parseAddress(const weft::v1::SocketAddress& address, const std::string& path,
                    boost::asio::ip::tcp::endpoint& out) {
    boost::system::error_code error;
    const auto ip = boost::asio::ip::make_address(address.address(), error);
    if (error) {
      fail(appendField(path, "address"), "\"" + address.address() +
                                             "\" is not an IP address (host names are only allowed "
                                             "for STRICT_DNS clusters)");
      return false;
    }
    out = boost::asio::ip::tcp::endpoint(ip, static_cast<uint16_t>(address.port()));
    return true;
  }

  void addCluster(Snapshot& snapshot, const weft::v1::Cluster& cluster, const std::string& path) {
    if (snapshot.clusters.count(cluster.name()) != 0) {
      fail(appendField(path, "name"), "duplicate cluster name \"" + cluster.name() + "\"");
      return;
    }
    const bool original_destination = cluster.type() == weft::v1::Cluster::ORIGINAL_DST;
    if (cluster.type() != weft::v1::Cluster::STATIC && !original_destination) {
      notYet(appendField(path, "type"));
      return;
    }
    if (original_destination) {
      // Each connection goes where it was going: no endpoints, nothing to balance, check or
      // eject, and no endpoint cache to clean (original_dst.cleanup_interval is accepted for
      // Envoy-shaped configs and has nothing to do). Plaintext: a meshed destination has a
      // cluster of its own.
      onlyImplemented(cluster, path,
                      {"name", "type", "connect_timeout", "lb_policy", "destination_service",
                       "load_assignment", "protocol", "original_dst"});
      if (cluster.load_assignment().endpoints_size() > 0) {
        fail(appendField(path, "load_assignment"),
             "an ORIGINAL_DST cluster has no endpoints: each connection goes to its original "
             "destination");
        return;
      }
    } else {
      onlyImplemented(
          cluster, path,
          {"name", "type", "load_assignment", "connect_timeout", "lb_policy", "least_request",
           "ring_hash", "maglev", "locality_weighted_lb", "healthy_panic_threshold", "protocol",
           "http2", "connection_pool", "destination_service", "tls", "circuit_breakers",
           "outlier_detection", "health_check"});
      if (cluster.protocol() != weft::v1::Cluster::HTTP1 &&
          cluster.protocol() != weft::v1::Cluster::HTTP2) {
        notYet(appendField(path, "protocol"));
      }
    }
    checkLbConfigFits(cluster, path);
    auto config = std::make_unique<ClusterConfig>();
    config->name = cluster.name();
    config->original_destination = original_destination;
    config->original_destination_loopback = cluster.original_dst().connect_to_loopback();
    config->circuit = ClusterCircuitCounts::forCluster(cluster.name());
    config->protocol = cluster.protocol() == weft::v1::Cluster::HTTP2 ? UpstreamProtocol::kHttp2
                                                                      : UpstreamProtocol::kHttp1;
    if (cluster.has_http2()) {
      readHttp2Settings(cluster.http2(), appendField(path, "http2"), config->http2);
    }
    if (cluster.has_connect_timeout()) {
      config->connect_timeout = toMillis(cluster.connect_timeout());
    }
    if (cluster.has_connection_pool()) {
      const auto& pool = cluster.connection_pool();
      const std::string pool_path = appendField(path, "connection_pool");
      onlyImplemented(pool, pool_path,
                      {"max_requests_per_connection", "idle_timeout", "max_connections_per_host"});
      if (pool.has_max_connections_per_host()) {
        config->max_connections_per_host = pool.max_connections_per_host().value();
      }
      if (pool.has_max_requests_per_connection()) {
        config->max_requests_per_connection = pool.max_requests_per_connection().value();
      }
      if (pool.has_idle_timeout()) {
        config->upstream_idle_timeout = toMillis(pool.idle_timeout());
      }
    }
    if (cluster.has_outlier_detection()) {
      config->outlier =
          readOutlierDetection(cluster.outlier_detection(), appendField(path, "outlier_detection"));
    }
    if (cluster.has_health_check()) {
      config->health_check = readHealthCheck(cluster, appendField(path, "health_check"));
    }
    if (cluster.has_circuit_breakers()) {
      readCircuitBreakers(cluster.circuit_breakers(), appendField(path, "circuit_breakers"),
                          *config);
    }
    const auto& assignment = cluster.load_assignment();
    const std::string assignment_path = appendField(path, "load_assignment");
    onlyImplemented(assignment, assignment_path, {"cluster_name", "endpoints", "policy"});
    if (assignment.has_policy()) {
      onlyImplemented(assignment.policy(), appendField(assignment_path, "policy"),
                      {"overprovisioning_factor"});
    }
    lb::ClusterLbConfig lb_config;
    lb_config.policy = lb::lbPolicyFromProto(cluster, assignment);
    // In host order (Host::index()), for the mesh identities below.
    std::vector<const weft::v1::LbEndpoint*> endpoint_identities;
    const std::string endpoints_path = appendField(assignment_path, "endpoints");
    // Exact sizes: these vectors live as long as the snapshot, and growth by
    // doubling would leave up to half of each unused (10,000 endpoints: 0.2 MB).
    lb_config.localities.reserve(static_cast<size_t>(assignment.endpoints_size()));
    for (int l = 0; l < assignment.endpoints_size(); ++l) {
      const auto& locality = assignment.endpoints(l);
      const std::string locality_path = appendIndex(endpoints_path, l);
      lb::LocalityConfig locality_config;
      locality_config.priority = locality.priority();
      if (locality.has_load_balancing_weight()) {
        locality_config.weight = locality.load_balancing_weight().value();
      }
      locality_config.endpoints.reserve(static_cast<size_t>(locality.lb_endpoints_size()));
      for (int e = 0; e < locality.lb_endpoints_size(); ++e) {
        const auto& lb_endpoint = locality.lb_endpoints(e);
        const std::string endpoint_path =
            appendIndex(appendField(locality_path, "lb_endpoints"), e);
        lb::EndpointConfig endpoint;
        if (!parseAddress(lb_endpoint.endpoint().address(),
                          appendField(appendField(endpoint_path, "endpoint"), "address"),
                          endpoint.address)) {
          continue;
        }
        if (lb_endpoint.has_load_balancing_weight()) {
          endpoint.weight = lb_endpoint.load_balancing_weight().value();
        }
        endpoint.health = lb::edsHealthFromProto(lb_endpoint.health_status());
        locality_config.endpoints.push_back(endpoint);
        endpoint_identities.push_back(&lb_endpoint);
      }
      lb_config.localities.push_back(std::move(locality_config));
    }
    config->hash_based = lb_config.policy.policy == lb::LbPolicy::kRingHash ||
                         lb_config.policy.policy == lb::LbPolicy::kMaglev;
    config->lb_factory = std::make_unique<lb::LoadBalancerFactory>(std::move(lb_config));
    config->per_worker.resize(worker_count_);
    // Label ids of the golden metrics, interned here once rather than per request.
    MetricLabelTable& labels = MetricLabelTable::global();
    const std::string& service =
        cluster.destination_service().empty() ? cluster.name() : cluster.destination_service();
    config->metric_service = labels.intern("", "", service);
    config->metric_local = labels.intern(node_->workload_name(), node_->namespace_(), service);
    config->metric_destinations.reserve(endpoint_identities.size());
    for (const weft::v1::LbEndpoint* lb_endpoint : endpoint_identities) {
      const weft::v1::EndpointMetadata& metadata = lb_endpoint->metadata();
      config->metric_destinations.push_back(
          labels.intern(metadata.workload(), metadata.namespace_(), service));
    }
    if (config->health_check) {
      config->health_check_ports.reserve(endpoint_identities.size());
      for (const weft::v1::LbEndpoint* lb_endpoint : endpoint_identities) {
        config->health_check_ports.push_back(
            static_cast<uint16_t>(lb_endpoint->endpoint().health_check_port()));
      }
      config->active_health = std::make_unique<ActiveHealthVerdicts>(endpoint_identities.size());
    }
    if (cluster.has_tls() && cluster.tls().mode() != weft::v1::UpstreamTls::DISABLE) {
      addUpstreamTls(*config, cluster.tls(), endpoint_identities, appendField(path, "tls"));
    }
    snapshot.clusters.emplace(cluster.name(), std::move(config));
  }

  OutlierConfig readOutlierDetection(const weft::v1::OutlierDetection& detection,
                                     const std::string& path) {
    OutlierConfig config;
    if (detection.has_consecutive_5xx()) {
      config.consecutive_5xx = detection.consecutive_5xx().value();
    }
    if (detection.has_consecutive_gateway_failure()) {
      config.consecutive_gateway = detection.consecutive_gateway_failure().value();
    }
    if (detection.has_consecutive_local_origin_failure()) {
      config.consecutive_local = detection.consecutive_local_origin_failure().value();
    }
    config.split_local = detection.split_external_local_origin_errors();
    if (detection.has_interval()) {
      config.interval = toMillis(detection.interval());
    }
    if (detection.has_base_ejection_time()) {
      config.base_ejection = toMillis(detection.base_ejection_time());
    }
    if (detection.has_max_ejection_time()) {
      config.max_ejection = toMillis(detection.max_ejection_time());
    }
    if (config.max_ejection < config.base_ejection) {
      fail(appendField(path, "max_ejection_time"), "is shorter than base_ejection_time");
    }
    if (detection.has_max_ejection_percent()) {
      config.max_ejection_percent = detection.max_ejection_percent().value();
    }
    if (detection.has_success_rate()) {
      const auto& rate = detection.success_rate();
      OutlierConfig::SuccessRate rule;
      if (rate.has_minimum_hosts()) {
        rule.minimum_hosts = rate.minimum_hosts().value();
      }
      if (rate.has_request_volume()) {
        rule.request_volume = rate.request_volume().value();
      }
      if (rate.has_stdev_factor()) {
        rule.stdev_factor = rate.stdev_factor().value();
      }
      config.success_rate = rule;
    }
    return config;
  }

  std::unique_ptr<const HealthCheckConfig> readHealthCheck(const weft::v1::Cluster& cluster,
                                                           const std::string& path) {
    const weft::v1::HealthCheck& check = cluster.health_check();
    auto config = std::make_unique<HealthCheckConfig>();
    config->timeout = toMillis(check.timeout());
    config->interval = toMillis(check.interval());
    if (check.has_interval_jitter()) {
      config->interval_jitter = toMillis(check.interval_jitter());
    }
    if (check.has_unhealthy_threshold()) {
      config->unhealthy_threshold = check.unhealthy_threshold().value();
    }
    if (check.has_healthy_threshold()) {
      config->healthy_threshold = check.healthy_threshold().value();
    }
    config->http2 = cluster.protocol() == weft::v1::Cluster::HTTP2;
    const std::string default_host =
        cluster.destination_service().empty() ? cluster.name() : cluster.destination_service();
    // Path and host go into the request line and headers as they are.
    const auto unsafe = [](std::string_view text) {
      return std::any_of(text.begin(), text.end(),
                         [](unsigned char c) { return c <= ' ' || c == 0x7f; });
    };
    if (check.has_grpc()) {
      config->probe = HealthCheckConfig::Probe::kGrpc;
      config->grpc_service = check.grpc().service_name();
      config->host = check.grpc().authority().empty() ? default_host : check.grpc().authority();
      if (unsafe(config->host)) {
        fail(appendField(appendField(path, "grpc"), "authority"),
             "must not contain spaces or control characters");
      }
    } else if (check.has_http()) {
      const std::string http_path = appendField(path, "http");
      const weft::v1::HealthCheck::Http& http = check.http();
      config->probe = HealthCheckConfig::Probe::kHttp;
      config->path = http.path();
      config->host = http.host().empty() ? default_host : http.host();
      if (unsafe(config->path)) {
        fail(appendField(http_path, "path"), "must not contain spaces or control characters");
      }
      if (unsafe(config->host)) {
        fail(appendField(http_path, "host"), "must not contain spaces or control characters");
      }
      for (const weft::v1::Int64Range& range : http.expected_statuses()) {
        if (range.start() >= range.end() || range.start() < 100 || range.end() > 600) {
          fail(appendField(http_path, "expected_statuses"),
               "[" + std::to_string(range.start()) + ", " + std::to_string(range.end()) +
                   ") is not a range of HTTP statuses within [100, 600)");
        }
        config->expected_statuses.emplace_back(range.start(), range.end());
      }
      for (int h = 0; h < http.request_headers_size(); ++h) {
        const weft::v1::HeaderValue& header = http.request_headers(h);
        std::string name = header.name();
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        const std::string header_path = appendIndex(appendField(http_path, "request_headers"), h);
        // Connection-specific fields make an HTTP/2 request malformed (RFC 9113 section
        // 8.2.2): every probe would fail while the config looked fine.
        if (name == "host" || name == "content-length" || name == "te" ||
            isConnectionSpecific(name)) {
          fail(header_path,
               "\"" + name + "\" is set by the probe itself (Host comes from http.host)");
          continue;
        }
        if (std::any_of(header.value().begin(), header.value().end(),
                        [](unsigned char c) { return (c < ' ' && c != '\t') || c == 0x7f; })) {
          fail(appendField(header_path, "value"), "must not contain control characters");
          continue;
        }
        if (name == "user-agent") {
          config->user_agent = header.value();  // replaces the probe's own
          continue;
        }
        config->request_headers.emplace_back(std::move(name), header.value());
      }
    } else {
      config->probe = HealthCheckConfig::Probe::kTcp;
    }
    return config;
  }

  void readCircuitBreakers(const weft::v1::CircuitBreakers& breakers, const std::string& path,
                           ClusterConfig& config) {
    for (int t = 0; t < breakers.thresholds_size(); ++t) {
      const auto& thresholds = breakers.thresholds(t);
      const std::string thresholds_path = appendIndex(appendField(path, "thresholds"), t);
      if (thresholds.priority() != weft::v1::PRIORITY_DEFAULT) {
        notYet(appendField(thresholds_path, "priority"));
        continue;
      }
      if (thresholds.has_max_connections()) {
        config.circuit_limits.max_connections = thresholds.max_connections().value();
      }
      if (thresholds.has_max_pending_requests()) {
        config.circuit_limits.max_pending_requests = thresholds.max_pending_requests().value();
      }
      if (thresholds.has_max_requests()) {
        config.circuit_limits.max_requests = thresholds.max_requests().value();
      }
      if (thresholds.has_max_retries()) {
        config.circuit_limits.max_retries = thresholds.max_retries().value();
      }
      if (thresholds.has_retry_budget()) {
        const auto& budget = thresholds.retry_budget();
        if (budget.has_budget_percent()) {
          config.retry_budget.percent = budget.budget_percent().value();
        }
        if (budget.has_min_retries_per_second()) {
          config.retry_budget.min_per_second = budget.min_retries_per_second().value();
        }
      }
    }
  }

  void addUpstreamTls(ClusterConfig& config, const weft::v1::UpstreamTls& tls,
                      const std::vector<const weft::v1::LbEndpoint*>& endpoints,
                      const std::string& path) {
    std::vector<std::string> protocol_alpn;
    protocol_alpn.emplace_back(config.protocol == UpstreamProtocol::kHttp2 ? "h2" : "http/1.1");
    auto built = buildUpstreamTls(tls, protocol_alpn, secretLookup());
    if (!built) {
      fail(path, built.error());
      return;
    }
    config.tls = std::move(*built);
    if (config.tls->mode != UpstreamTlsConfig::Mode::kMesh) {
      return;
    }
    config.endpoint_tls.reserve(endpoints.size());
    for (const weft::v1::LbEndpoint* endpoint : endpoints) {
      if (endpoint->has_mtls_ready() && !endpoint->mtls_ready().value()) {
        config.endpoint_tls.push_back(ClusterConfig::kPlaintextEndpoint);
        continue;
      }
      if (endpoint->identity().empty()) {
        config.endpoint_tls.push_back(ClusterConfig::kAnyMeshIdentity);
        continue;
      }
      auto known = std::find(config.mesh_identities.begin(), config.mesh_identities.end(),
                             endpoint->identity());
      if (known == config.mesh_identities.end()) {
        config.mesh_identities.push_back(endpoint->identity());
        known = config.mesh_identities.end() - 1;
      }
      config.endpoint_tls.push_back(ClusterConfig::kFirstIdentity +
                                    static_cast<uint32_t>(known - config.mesh_identities.begin()));
    }
    config.mesh_identities.shrink_to_fit();
  }

  SecretLookup secretLookup() const {
    return [this](std::string_view name) -> const weft::v1::Secret* {
      auto it = secrets_.find(std::string(name));
      return it == secrets_.end() ? nullptr : it->second;
    };
  }

  // The lb_config oneof must describe the chosen lb_policy.
  void checkLbConfigFits(const weft::v1::Cluster& cluster, const std::string& path) {
    using weft::v1::Cluster;
    const char* field = nullptr;
    Cluster::LbPolicy wanted = cluster.lb_policy();
    switch (cluster.lb_config_case()) {
      case Cluster::kLeastRequest:
        field = "least_request";
        wanted = Cluster::LEAST_REQUEST;
        break;
      case Cluster::kRingHash:
        field = "ring_hash";
        wanted = Cluster::RING_HASH;
        break;
      case Cluster::kMaglev:
        field = "maglev";
        wanted = Cluster::MAGLEV;
        break;
      case Cluster::LB_CONFIG_NOT_SET:
        return;
    }
    if (wanted != cluster.lb_policy()) {
      fail(appendField(path, field), std::string("settings for another policy than lb_policy ") +
                                         Cluster::LbPolicy_Name(cluster.lb_policy()));
    }
  }

  // `tcp_chain`: the reference is a TCP chain's, which alone may name an ORIGINAL_DST cluster
  // (a request has no original destination of its own to go to).
  const ClusterConfig* findCluster(const Snapshot& snapshot, const std::string& name,
                                   const std::string& path, bool tcp_chain = false) {
    auto it = snapshot.clusters.find(name);
    if (it == snapshot.clusters.end()) {
      fail(path, "unknown cluster \"" + name + "\"");
      return nullptr;
    }
    if (it->second->original_destination && !tcp_chain) {
      fail(path, "cluster \"" + name +
                     "\" is ORIGINAL_DST, which only TCP chains (tcp.cluster) "
                     "may use");
      return nullptr;
    }
    return it->second.get();
  }

  void addListener(Snapshot& snapshot, const weft::v1::Listener& listener,
                   const std::string& path) {
    for (const ListenerConfig& existing : snapshot.listeners) {
      if (existing.name == listener.name()) {
        fail(appendField(path, "name"), "duplicate listener name \"" + listener.name() + "\"");
        return;
      }
    }
    ListenerConfig config;
    config.name = listener.name();
    if (!parseAddress(listener.address(), appendField(path, "address"), config.address)) {
      return;
    }
    if (listener.additional_addresses_size() > 0) {
      notYet(appendField(path, "additional_addresses"));
    }
    config.transparent = listener.transparent();
    inbound_listener_ = listener.direction() == weft::v1::Listener::INBOUND;
    transparent_listener_ = listener.transparent();
    config.direction =
        listener.direction() == weft::v1::Listener::INBOUND    ? TrafficDirection::kInbound
        : listener.direction() == weft::v1::Listener::OUTBOUND ? TrafficDirection::kOutbound
                                                               : TrafficDirection::kUnspecified;
    // Inbound, the caller is known per connection (its mTLS identity), if at all.
    config.metric_source =
        config.direction == TrafficDirection::kInbound
            ? MetricLabelTable::kUnknown
            : MetricLabelTable::global().intern(node_->workload_name(), node_->namespace_(), "");
    if (config.direction == TrafficDirection::kInbound) {
      config.metric_destination =
          MetricLabelTable::global().intern(node_->workload_name(), node_->namespace_(), "");
    }
    onlyImplemented(listener, path,
                    {"name", "address", "additional_addresses", "transparent", "direction",
                     "protocol_detection", "filter_chains", "backlog", "tcp_keepalive"});
    if (listener.has_backlog()) {
      config.backlog = listener.backlog().value();
    }
    if (listener.has_tcp_keepalive()) {
      const auto& keepalive = listener.tcp_keepalive();
      TcpKeepaliveConfig probing;
      probing.probes = keepalive.has_probes() ? keepalive.probes().value() : 0;
      probing.idle_seconds = static_cast<uint32_t>(keepalive.idle_time().seconds());
      probing.interval_seconds = static_cast<uint32_t>(keepalive.interval().seconds());
      config.keepalive = probing;
    }
    if (listener.has_protocol_detection()) {
      const auto& detection = listener.protocol_detection();
      config.detection.disabled = detection.disabled();
      if (detection.has_timeout()) {
        config.detection.timeout = toMillis(detection.timeout());
      }
      for (uint32_t port : detection.opaque_ports()) {
        config.detection.opaque_ports.push_back(static_cast<uint16_t>(port));
      }
    }
    std::set<std::string> chain_names;
    for (int c = 0; c < listener.filter_chains_size(); ++c) {
      const auto& chain = listener.filter_chains(c);
      const std::string chain_path = appendIndex(appendField(path, "filter_chains"), c);
      if (!chain_names.insert(chain.name()).second) {
        fail(appendField(chain_path, "name"),
             "duplicate filter chain name \"" + chain.name() + "\" in this listener");
        continue;
      }
      FilterChainConfig chain_config;
      chain_config.name = chain.name();
      if (chain.has_match()) {
        addChainMatch(chain.match(), appendField(chain_path, "match"), chain_config.match);
      }
      if (chain.has_tls() && chain.tls().mode() != weft::v1::DownstreamTls::DISABLE) {
        auto built = buildDownstreamTls(chain.tls(), defaultAlpn(chain), secretLookup());
        if (!built) {
          fail(appendField(chain_path, "tls"), built.error());
        } else {
          chain_config.tls = std::move(*built);
        }
      }
      if (chain.has_authorization()) {
        chain_config.authorization =
            std::make_shared<authz::AuthorizationPolicySet>(chain.authorization(), policies_);
      }
      if (chain.has_http()) {
        chain_config.http = addHttpChain(snapshot, chain.http(), appendField(chain_path, "http"),
                                         listener.name() + "/" + chain.name());
      } else {
        chain_config.tcp = addTcpChain(snapshot, chain.tcp(), appendField(chain_path, "tcp"));
      }
      config.chains.push_back(std::move(chain_config));
    }
    snapshot.listeners.push_back(std::move(config));
  }

  // The ALPN ids a chain accepts when its tls block names none: the mesh ids first (a Weft
  // client names the protocol it will speak), then the standard ones.
  static std::vector<std::string> defaultAlpn(const weft::v1::FilterChain& chain) {
    if (!chain.has_http()) {
      return {std::string(kMeshAlpnTcp)};
    }
    switch (chain.http().codec()) {
      case weft::v1::HttpConnectionManager::HTTP1:
        return {std::string(kMeshAlpnHttp1), "http/1.1"};
      case weft::v1::HttpConnectionManager::HTTP2:
        return {std::string(kMeshAlpnHttp2), "h2"};
      default:
        return {std::string(kMeshAlpnHttp2), std::string(kMeshAlpnHttp1), "h2", "http/1.1"};
    }
  }

  void addChainMatch(const weft::v1::FilterChainMatch& match, const std::string& path,
                     FilterChainMatchConfig& out) {
    for (uint32_t port : match.destination_ports()) {
      out.destination_ports.push_back(static_cast<uint16_t>(port));
    }
    auto cidrs = [&](const auto& list, const char* field, std::vector<CidrMatch>& into) {
      for (int i = 0; i < list.size(); ++i) {
        boost::system::error_code error;
        CidrMatch cidr{boost::asio::ip::make_address(list[i].address_prefix(), error),
                       list[i].prefix_len()};
        const std::string entry_path = appendIndex(appendField(path, field), i);
        if (error) {
          fail(appendField(entry_path, "address_prefix"), "not an IP address");
        } else if (cidr.prefix_len > (cidr.prefix.is_v4() ? 32u : 128u)) {
          fail(appendField(entry_path, "prefix_len"), "longer than the address");
        } else {
          into.push_back(cidr);
        }
      }
    };
    cidrs(match.destination_cidrs(), "destination_cidrs", out.destination_cidrs);
    cidrs(match.source_cidrs(), "source_cidrs", out.source_cidrs);
    for (std::string name : match.server_names()) {
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      out.server_names.push_back(name.rfind("*.", 0) == 0 ? name.substr(1) : name);
    }
    switch (match.transport_protocol()) {
      case weft::v1::FilterChainMatch::PLAINTEXT:
        out.transport = TransportKind::kPlaintext;
        break;
      case weft::v1::FilterChainMatch::TLS:
        out.transport = TransportKind::kTls;
        break;
      default:
        out.transport = TransportKind::kAny;
        break;
    }
    for (const std::string& protocol : match.application_protocols()) {
      out.application_protocols.push_back(protocol);
    }
  }

  void readHttp2Settings(const weft::v1::Http2ProtocolOptions& options, const std::string& path,
                         Http2Settings& out) {
    if (options.has_max_concurrent_streams()) {
      out.max_concurrent_streams = options.max_concurrent_streams().value();
    }
    if (options.has_initial_stream_window_size()) {
      out.initial_stream_window = options.initial_stream_window_size().value();
    }
    if (options.has_initial_connection_window_size()) {
      out.initial_connection_window = options.initial_connection_window_size().value();
    }
    if (options.has_keepalive_interval()) {
      notYet(appendField(path, "keepalive_interval"));
    }
  }

  std::optional<HttpChainConfig> addHttpChain(Snapshot& snapshot,
                                              const weft::v1::HttpConnectionManager& http,
                                              const std::string& path,
                                              const std::string& table_key) {
    if (!http.has_route_config()) {
      fail(appendField(path, "route_config_name"),
           "routes from RDS need a control plane; give route_config inline in a static "
           "bootstrap");
      return std::nullopt;
    }
    HttpChainConfig config;
    onlyImplemented(http, path,
                    {"stat_prefix", "route_config", "codec", "http2", "max_request_headers_bytes",
                     "max_request_headers_count", "request_headers_timeout", "stream_idle_timeout",
                     "idle_timeout", "upgrade_types", "max_requests_per_connection",
                     "append_x_forwarded_for", "generate_request_id", "request_id_in_response",
                     "path_normalization", "hide_local_reply_reason", "access_log", "tracing"});
    if (http.has_tracing() || default_tracing_ != nullptr) {
      config.tracing = readChainTracing(http.has_tracing() ? &http.tracing() : nullptr,
                                        appendField(path, "tracing"));
    }
    config.access_log = http.has_access_log()
                            ? readAccessLog(http.access_log(), appendField(path, "access_log"))
                            : default_access_log_;
    switch (http.codec()) {
      case weft::v1::HttpConnectionManager::HTTP1:
        config.codec = HttpCodec::kHttp1;
        break;
      case weft::v1::HttpConnectionManager::HTTP2:
        config.codec = HttpCodec::kHttp2;
        break;
      default:
        config.codec = HttpCodec::kAuto;
        break;
    }
    if (http.has_path_normalization()) {
      const auto& normalization = http.path_normalization();
      if (normalization.has_rfc3986()) {
        config.path_normalization.rfc3986 = normalization.rfc3986().value();
      }
      config.path_normalization.merge_slashes = normalization.merge_slashes();
      switch (normalization.escaped_slashes()) {
        case weft::v1::PathNormalization::REJECT:
          config.path_normalization.escaped_slashes =
              PathNormalizationConfig::EscapedSlashes::kReject;
          break;
        case weft::v1::PathNormalization::UNESCAPE:
          config.path_normalization.escaped_slashes =
              PathNormalizationConfig::EscapedSlashes::kUnescape;
          break;
        default:
          break;
      }
    }
    config.request_id_in_response = http.request_id_in_response();
    config.hide_local_reply_reason = http.hide_local_reply_reason();
    if (http.has_max_requests_per_connection()) {
      config.max_requests_per_connection = http.max_requests_per_connection().value();
    }
    if (http.has_max_request_headers_bytes()) {
      config.limits.max_request_headers_bytes = http.max_request_headers_bytes().value();
    }
    if (http.has_max_request_headers_count()) {
      config.limits.max_request_headers = http.max_request_headers_count().value();
    }
    if (http.has_request_headers_timeout()) {
      config.limits.request_headers_timeout = toMillis(http.request_headers_timeout());
    }
    if (http.has_idle_timeout()) {
      config.limits.idle_timeout = toMillis(http.idle_timeout());
    }
    if (http.has_stream_idle_timeout()) {
      config.limits.stream_idle_timeout = toMillis(http.stream_idle_timeout());
    }
    if (http.has_generate_request_id()) {
      config.limits.generate_request_id = http.generate_request_id().value();
    }
    config.limits.append_x_forwarded_for = http.append_x_forwarded_for();
    for (std::string type : http.upgrade_types()) {
      std::transform(type.begin(), type.end(), type.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      config.upgrade_types.push_back(std::move(type));
    }
    if (config.upgrade_types.empty()) {
      config.upgrade_types.push_back("websocket");  // decisions.md: WebSocket by default
    }
    if (http.has_http2()) {
      readHttp2Settings(http.http2(), appendField(path, "http2"), config.http2);
    }
    config.routes =
        addRouteTable(snapshot, http.route_config(), appendField(path, "route_config"), table_key);
    return config;
  }

  // A percentage as a threshold on a uniformly random 32-bit number: 100 % is 2^32.
  static uint64_t samplingThreshold(double percentage) {
    return static_cast<uint64_t>(percentage / 100.0 * static_cast<double>(uint64_t{1} << 32));
  }

  // Bootstrap.tracing: the chains' defaults, and the exporter (its collector cluster must be
  // one of the bootstrap's clusters).
  void readTracing(Snapshot& snapshot, const weft::v1::TracingConfig& tracing) {
    default_tracing_ = &tracing;
    if (tracing.exporter() == weft::v1::TracingConfig::NONE) {
      return;
    }
    auto config = std::make_shared<SpanExportConfig>();
    const bool otlp = tracing.exporter() == weft::v1::TracingConfig::OTLP_HTTP_JSON;
    config->format =
        otlp ? SpanExportConfig::Format::kOtlpJson : SpanExportConfig::Format::kZipkinJson;
    if (tracing.collector_cluster().empty()) {
      fail("tracing.collector_cluster", "required with an exporter");
      return;
    }
    if (snapshot.clusters.count(tracing.collector_cluster()) == 0) {
      fail("tracing.collector_cluster",
           "no cluster named \"" + tracing.collector_cluster() + "\" in static_resources");
      return;
    }
    config->collector_cluster = tracing.collector_cluster();
    config->collector_path = !tracing.collector_path().empty() ? tracing.collector_path()
                             : otlp                            ? "/v1/traces"
                                                               : "/api/v2/spans";
    config->service_name = !tracing.service_name().empty()   ? tracing.service_name()
                           : !node_->workload_name().empty() ? node_->workload_name()
                                                             : node_->id();
    if (tracing.has_flush_interval()) {
      config->flush_interval = toMillis(tracing.flush_interval());
    }
    if (tracing.has_max_batch_size()) {
      config->max_batch = tracing.max_batch_size().value();
    }
    snapshot.span_export = std::move(config);
  }

  // An HTTP chain's tracing: its own settings (`own`, may be null) over the bootstrap's.
  std::shared_ptr<const ChainTracingConfig> readChainTracing(const weft::v1::Tracing* own,
                                                             const std::string& path) {
    auto config = std::make_shared<ChainTracingConfig>();
    config->server_spans = inbound_listener_;
    double percentage = 1;
    if (default_tracing_ != nullptr) {
      config->export_spans = default_tracing_->exporter() != weft::v1::TracingConfig::NONE;
      if (default_tracing_->has_default_sampling_percentage()) {
        percentage = default_tracing_->default_sampling_percentage().value();
      }
    }
    if (own != nullptr) {
      if (own->has_random_sampling_percentage()) {
        percentage = own->random_sampling_percentage().value();
      }
      if (own->propagation_size() > 0) {
        config->formats = 0;
        for (int i = 0; i < own->propagation_size(); ++i) {
          switch (own->propagation(i)) {
            case weft::v1::Tracing::W3C:
              config->formats |= kTraceW3c;
              break;
            case weft::v1::Tracing::B3:
              config->formats |= kTraceB3;
              break;
            default:
              fail(appendIndex(appendField(path, "propagation"), i), "W3C or B3");
              break;
          }
        }
      }
      for (const auto& [key, value] : own->tags()) {
        config->tags.emplace_back(key, value);
      }
      std::sort(config->tags.begin(), config->tags.end());
    }
    config->sample_threshold = samplingThreshold(percentage);
    return config;
  }

  // An access log, its file opened (or shared with earlier snapshots that name the same path).
  // Null when its sampling percentage is 0: that turns a bootstrap default off.
  std::shared_ptr<const AccessLogConfig> readAccessLog(const weft::v1::AccessLog& log,
                                                       const std::string& path) {
    auto config = std::make_shared<AccessLogConfig>();
    if (log.format() == weft::v1::AccessLog::TEXT) {
      if (log.text_format().empty()) {
        fail(appendField(path, "text_format"), "required when format is TEXT");
        return nullptr;
      }
      std::string error;
      config->format = AccessLogFormat::text(log.text_format(), error);
      if (!error.empty()) {
        fail(appendField(path, "text_format"), error);
        return nullptr;
      }
    } else if (!log.text_format().empty()) {
      fail(appendField(path, "text_format"), "only used with format TEXT");
      return nullptr;
    }
    if (log.has_sampling_percentage()) {
      const double percentage = log.sampling_percentage().value();
      if (percentage <= 0) {
        return nullptr;
      }
      config->sample_threshold = samplingThreshold(percentage);
    }
    config->errors_only = log.errors_only();
    std::string error;
    config->file = AccessLogFile::open(log.path(), worker_count_, error);
    if (!config->file) {
      fail(appendField(path, "path"), "\"" + log.path() + "\": " + error);
      return nullptr;
    }
    return config;
  }

  // Where an ORIGINAL_DST cluster can send a connection without looping back into the proxy:
  // only a transparent listener has an original destination other than itself, and an
  // inbound one's is the pod's own address, whose connections from the proxy capture sends
  // straight back to the inbound listener (weft-proxy init): it must go to loopback instead.
  void checkPassthrough(const ClusterConfig& cluster, const std::string& path) {
    if (!cluster.original_destination) {
      return;
    }
    if (!transparent_listener_) {
      fail(path, "cluster \"" + cluster.name +
                     "\" is ORIGINAL_DST, which needs a transparent listener (here the original "
                     "destination would be this listener itself)");
    } else if (inbound_listener_ && !cluster.original_destination_loopback) {
      fail(path, "cluster \"" + cluster.name +
                     "\" is ORIGINAL_DST on an inbound listener: set "
                     "original_dst.connect_to_loopback, since the proxy's own connections to the "
                     "pod's address are captured back into the inbound listener");
    }
  }

  std::optional<TcpChainConfig> addTcpChain(const Snapshot& snapshot, const weft::v1::TcpProxy& tcp,
                                            const std::string& path) {
    TcpChainConfig config;
    onlyImplemented(tcp, path,
                    {"stat_prefix", "cluster", "weighted_clusters", "idle_timeout",
                     "max_connection_duration", "max_connect_attempts", "access_log"});
    config.access_log = tcp.has_access_log()
                            ? readAccessLog(tcp.access_log(), appendField(path, "access_log"))
                            : default_access_log_;
    if (tcp.has_max_connect_attempts()) {
      config.max_connect_attempts = tcp.max_connect_attempts().value();
    }
    if (tcp.has_weighted_clusters()) {
      const auto& split = tcp.weighted_clusters().clusters();
      for (int i = 0; i < split.size(); ++i) {
        const std::string name_path = appendField(
            appendIndex(appendField(appendField(path, "weighted_clusters"), "clusters"), i),
            "name");
        if (const ClusterConfig* cluster =
                findCluster(snapshot, split[i].name(), name_path, true)) {
          if (split[i].weight() > 0) {
            config.clusters.push_back({cluster, split[i].weight()});
          }
        }
      }
      if (config.clusters.empty() && errors_.empty()) {
        fail(appendField(path, "weighted_clusters"), "all weights are 0");
      }
    } else if (const ClusterConfig* cluster =
                   findCluster(snapshot, tcp.cluster(), appendField(path, "cluster"), true)) {
      config.clusters.push_back({cluster, 1});
    }
    uint64_t total = 0;
    for (const WeightedClusterRef& ref : config.clusters) {
      total += ref.weight;
      checkPassthrough(
          *ref.cluster,
          appendField(path, tcp.has_weighted_clusters() ? "weighted_clusters" : "cluster"));
    }
    config.picker.setTotal(total);
    if (tcp.has_idle_timeout()) {
      config.idle_timeout = toMillis(tcp.idle_timeout());
    }
    if (tcp.has_max_connection_duration()) {
      notYet(appendField(path, "max_connection_duration"));
    }
    return config;
  }

  const RouteTable* addRouteTable(Snapshot& snapshot, const weft::v1::RouteConfiguration& routes,
                                  const std::string& path, const std::string& table_key) {
    auto table = std::make_unique<RouteTable>();
    table->name = routes.name();
    onlyImplemented(
        routes, path,
        {"name", "virtual_hosts", "request_headers", "response_headers", "validate_clusters"});
    table->request_headers =
        readMutation(routes.request_headers(), appendField(path, "request_headers"));
    table->response_headers =
        readMutation(routes.response_headers(), appendField(path, "response_headers"));
    table->virtual_hosts.reserve(static_cast<size_t>(routes.virtual_hosts_size()));
    for (int v = 0; v < routes.virtual_hosts_size(); ++v) {
      const auto& vhost = routes.virtual_hosts(v);
      const std::string vhost_path = appendIndex(appendField(path, "virtual_hosts"), v);
      VirtualHostConfig host;
      host.name = vhost.name();
      onlyImplemented(
          vhost, vhost_path,
          {"name", "domains", "routes", "request_headers", "response_headers", "retry_policy"});
      vhost_retry_policy_ =
          vhost.has_retry_policy()
              ? readRetryPolicy(vhost.retry_policy(), appendField(vhost_path, "retry_policy"))
              : nullptr;
      host.request_headers =
          readMutation(vhost.request_headers(), appendField(vhost_path, "request_headers"));
      host.response_headers =
          readMutation(vhost.response_headers(), appendField(vhost_path, "response_headers"));
      for (std::string domain : vhost.domains()) {
        std::transform(domain.begin(), domain.end(), domain.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (domain == "*") {
          host.matches_any = true;
        } else if (domain.front() == '*') {
          host.suffix_domains.push_back(domain.substr(1));
        } else if (domain.back() == '*') {
          host.prefix_domains.push_back(domain.substr(0, domain.size() - 1));
        } else {
          host.exact_domains.push_back(domain);
        }
      }
      host.routes.reserve(static_cast<size_t>(vhost.routes_size()));
      for (int r = 0; r < vhost.routes_size(); ++r) {
        addRoute(snapshot, host, vhost.routes(r),
                 appendIndex(appendField(vhost_path, "routes"), r));
      }
      table->virtual_hosts.push_back(std::move(host));
    }
    // Inline route tables belong to their listener's chain; listener names and
    // chain names within a listener are unique (checked), so the key is free.
    const RouteTable* pointer = table.get();
    snapshot.route_tables.emplace(table_key, std::move(table));
    return pointer;
  }

  void addRoute(const Snapshot& snapshot, VirtualHostConfig& host, const weft::v1::Route& route,
                const std::string& path) {
    RouteEntry entry;
    entry.name = route.name();
    const auto& match = route.match();
    const std::string match_path = appendField(path, "match");
    switch (match.path_specifier_case()) {
      case weft::v1::RouteMatch::kPrefix:
        entry.path_kind = PathMatchKind::kPrefix;
        entry.path = match.prefix();
        break;
      case weft::v1::RouteMatch::kPath:
        entry.path_kind = PathMatchKind::kExact;
        entry.path = match.path();
        break;
      case weft::v1::RouteMatch::kPathSeparatedPrefix:
        entry.path_kind = PathMatchKind::kSeparatedPrefix;
        entry.path = match.path_separated_prefix();
        break;
      case weft::v1::RouteMatch::kRegex: {
        entry.path_kind = PathMatchKind::kRegex;
        RE2::Options options;
        options.set_log_errors(false);
        entry.path_regex = std::make_unique<RE2>(match.regex(), options);
        if (!entry.path_regex->ok()) {
          fail(appendField(match_path, "regex"),
               "invalid regular expression: " + entry.path_regex->error());
          return;
        }
        break;
      }
      case weft::v1::RouteMatch::PATH_SPECIFIER_NOT_SET:
        entry.path = "/";
        break;
    }
    if (match.has_case_sensitive()) {
      entry.case_sensitive = match.case_sensitive().value();
    }
    onlyImplemented(match, match_path,
                    {"prefix", "path", "regex", "path_separated_prefix", "case_sensitive",
                     "headers", "query_parameters", "methods"});
    for (int h = 0; h < match.headers_size(); ++h) {
      readHeaderMatcher(match.headers(h), appendIndex(appendField(match_path, "headers"), h),
                        entry.conditions.headers);
    }
    for (int q = 0; q < match.query_parameters_size(); ++q) {
      readQueryMatcher(match.query_parameters(q),
                       appendIndex(appendField(match_path, "query_parameters"), q),
                       entry.conditions.query_parameters);
    }
    entry.conditions.methods.assign(match.methods().begin(), match.methods().end());
    onlyImplemented(
        route, path,
        {"name", "match", "route", "redirect", "direct_response", "request_headers",
         "response_headers", "metadata", "fault", "rate_limit", "access_log_sampling_percentage"});
    entry.metadata.assign(route.metadata().begin(), route.metadata().end());
    std::sort(entry.metadata.begin(), entry.metadata.end());
    if (route.has_access_log_sampling_percentage()) {
      entry.access_log_sample_threshold =
          samplingThreshold(route.access_log_sampling_percentage().value());
    }
    if (route.has_fault()) {
      entry.fault = readFault(route.fault(), appendField(path, "fault"));
    }
    if (route.has_rate_limit()) {
      const auto& limit = route.rate_limit();
      const auto& bucket = limit.token_bucket();
      const auto interval = std::chrono::nanoseconds(
          bucket.fill_interval().seconds() * 1'000'000'000 + bucket.fill_interval().nanos());
      entry.rate_limit = std::make_unique<LocalRateLimit>(
          bucket.max_tokens(), bucket.has_tokens_per_fill() ? bucket.tokens_per_fill().value() : 1,
          interval, std::chrono::steady_clock::now());
      if (limit.has_status()) {
        entry.rate_limit->status = limit.status().value();
      }
      if (limit.has_enforced_percentage()) {
        entry.rate_limit->enforced_share = perMillion(limit.enforced_percentage().value());
      }
      if (limit.per_source()) {
        entry.rate_limit->bucketPerSource(std::chrono::steady_clock::now());
      }
    }
    entry.request_headers =
        readMutation(route.request_headers(), appendField(path, "request_headers"));
    entry.response_headers =
        readMutation(route.response_headers(), appendField(path, "response_headers"));
    if (route.has_direct_response()) {
      const uint32_t status = route.direct_response().status();
      if ((status == 204 || status == 304) && !route.direct_response().body().empty()) {
        fail(appendField(appendField(path, "direct_response"), "body"),
             "a " + std::to_string(status) + " response has no body");
      }
      entry.direct_response = std::make_unique<const std::pair<unsigned, std::string>>(
          route.direct_response().status(), route.direct_response().body());
    } else if (route.has_route()) {
      readRouteAction(snapshot, route.route(), appendField(path, "route"), entry);
    } else {
      entry.redirect = std::make_unique<const RedirectConfig>(
          readRedirect(route.redirect(), appendField(path, "redirect"), entry));
    }
    host.routes.push_back(std::move(entry));
  }

  void readRouteAction(const Snapshot& snapshot, const weft::v1::RouteAction& action,
                       const std::string& action_path, RouteEntry& entry) {
    onlyImplemented(action, action_path,
                    {"cluster", "weighted_clusters", "prefix_rewrite", "regex_rewrite",
                     "host_rewrite", "timeout", "idle_timeout", "hash_policy", "max_grpc_timeout",
                     "grpc_timeout_offset", "retry_policy", "request_mirror_policies"});
    for (int m = 0; m < action.request_mirror_policies_size(); ++m) {
      const auto& mirror = action.request_mirror_policies(m);
      const std::string mirror_path =
          appendIndex(appendField(action_path, "request_mirror_policies"), m);
      const ClusterConfig* cluster =
          findCluster(snapshot, mirror.cluster(), appendField(mirror_path, "cluster"));
      if (cluster != nullptr) {
        entry.mirrors.push_back({cluster, mirror.has_percentage()
                                              ? perMillion(mirror.percentage().value())
                                              : 1'000'000});
      }
    }
    entry.retry_policy =
        action.has_retry_policy()
            ? readRetryPolicy(action.retry_policy(), appendField(action_path, "retry_policy"))
            : vhost_retry_policy_;
    if (action.has_weighted_clusters()) {
      const auto& split = action.weighted_clusters().clusters();
      const std::string split_path =
          appendField(appendField(action_path, "weighted_clusters"), "clusters");
      for (int i = 0; i < split.size(); ++i) {
        const std::string backend_path = appendIndex(split_path, i);
        if (const ClusterConfig* cluster =
                findCluster(snapshot, split[i].name(), appendField(backend_path, "name"))) {
          if (split[i].weight() > 0) {
            WeightedClusterRef ref{cluster, split[i].weight(), {}, {}};
            ref.request_headers = readMutation(split[i].request_headers(),
                                               appendField(backend_path, "request_headers"));
            ref.response_headers = readMutation(split[i].response_headers(),
                                                appendField(backend_path, "response_headers"));
            entry.clusters.push_back(std::move(ref));
          }
        }
      }
      if (entry.clusters.empty() && errors_.empty()) {
        fail(appendField(action_path, "weighted_clusters"), "all weights are 0");
      }
    } else if (const ClusterConfig* cluster =
                   findCluster(snapshot, action.cluster(), appendField(action_path, "cluster"))) {
      entry.clusters.push_back({cluster, 1, {}, {}});
    }
    uint64_t total = 0;
    for (const WeightedClusterRef& ref : entry.clusters) {
      total += ref.weight;
    }
    entry.picker.setTotal(total);
    if (action.path_rewrite_case() == weft::v1::RouteAction::kPrefixRewrite) {
      if (entry.path_kind != PathMatchKind::kPrefix &&
          entry.path_kind != PathMatchKind::kSeparatedPrefix) {
        fail(appendField(action_path, "prefix_rewrite"),
             "needs a prefix or path_separated_prefix match");
      }
      entry.prefix_rewrite = action.prefix_rewrite();
      entry.has_prefix_rewrite = true;
    } else if (action.has_regex_rewrite()) {
      const std::string rewrite_path = appendField(action_path, "regex_rewrite");
      entry.regex_rewrite =
          compileRegex(action.regex_rewrite().pattern(), appendField(rewrite_path, "pattern"));
      entry.regex_substitution = action.regex_rewrite().substitution();
      std::string why;
      if (entry.regex_rewrite &&
          !entry.regex_rewrite->CheckRewriteString(entry.regex_substitution, &why)) {
        fail(appendField(rewrite_path, "substitution"), why);
      }
    }
    entry.host_rewrite = action.host_rewrite();
    if (action.has_timeout()) {
      entry.timeout = toMillis(action.timeout());
    }
    if (action.has_idle_timeout()) {
      entry.idle_timeout = toMillis(action.idle_timeout());
    }
    if (action.has_max_grpc_timeout()) {
      entry.max_grpc_timeout = toMillis(action.max_grpc_timeout());
    }
    if (action.has_grpc_timeout_offset()) {
      entry.grpc_timeout_offset = toMillis(action.grpc_timeout_offset());
    }
    for (int h = 0; h < action.hash_policy_size(); ++h) {
      entry.hash_policies.push_back(readHashPolicy(
          action.hash_policy(h), appendIndex(appendField(action_path, "hash_policy"), h)));
    }
  }

  std::unique_ptr<RE2> compileRegex(const std::string& pattern, const std::string& path) {
    RE2::Options options;
    options.set_log_errors(false);
    auto regex = std::make_unique<RE2>(pattern, options);
    if (!regex->ok()) {
      fail(path, "invalid regular expression: " + regex->error());
      return nullptr;
    }
    return regex;
  }

  static std::string lowerCase(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
  }

  // The string condition of a HeaderMatcher or QueryParameterMatcher. Returns false when the
  // matcher is a presence or range test instead.
  template <class Matcher>
  bool readStringMatch(const Matcher& matcher, const std::string& path, ValueMatcher& out) {
    std::string regex_error;
    const bool found = readStringCondition(matcher, out, regex_error);
    if (!regex_error.empty()) {
      fail(appendField(path, "regex"), regex_error);
    }
    return found;
  }

  static uint32_t perMillion(double percent) {
    return static_cast<uint32_t>(std::llround(percent * 10'000.0));
  }

  std::unique_ptr<const FaultConfig> readFault(const weft::v1::FaultInjection& fault,
                                               const std::string& path) {
    auto config = std::make_unique<FaultConfig>();
    if (fault.has_delay()) {
      config->delay = toMillis(fault.delay().fixed_delay());
      if (fault.delay().has_percentage()) {
        config->delay_share = perMillion(fault.delay().percentage().value());
      }
    }
    if (fault.has_abort()) {
      const auto& abort = fault.abort();
      if (abort.error_type_case() == weft::v1::FaultInjection::Abort::kGrpcStatus) {
        config->abort_grpc_status = static_cast<int>(abort.grpc_status());
      } else {
        config->abort_http_status = abort.http_status();
      }
      if (abort.has_percentage()) {
        config->abort_share = perMillion(abort.percentage().value());
      }
    }
    for (int h = 0; h < fault.headers_size(); ++h) {
      readHeaderMatcher(fault.headers(h), appendIndex(appendField(path, "headers"), h),
                        config->headers);
    }
    config->header_controlled = fault.header_controlled();
    if (fault.has_max_active_faults()) {
      config->max_active = fault.max_active_faults().value();
    }
    return config;
  }

  // A RetryPolicy compiled; null when it retries on nothing (`retry_policy: {}`
  // switches a virtual host's policy off for one route).
  std::shared_ptr<const RetryPolicyConfig> readRetryPolicy(const weft::v1::RetryPolicy& policy,
                                                           const std::string& path) {
    using Proto = weft::v1::RetryPolicy;
    auto config = std::make_shared<RetryPolicyConfig>();
    for (const int condition : policy.retry_on()) {
      switch (static_cast<Proto::RetryOn>(condition)) {
        case Proto::HTTP_5XX:
          config->retry_on |= static_cast<uint32_t>(RetryCondition::k5xx);
          break;
        case Proto::GATEWAY_ERROR:
          config->retry_on |= static_cast<uint32_t>(RetryCondition::kGatewayError);
          break;
        case Proto::RESET:
          config->retry_on |= static_cast<uint32_t>(RetryCondition::kReset);
          break;
        case Proto::CONNECT_FAILURE:
          config->retry_on |= static_cast<uint32_t>(RetryCondition::kConnectFailure);
          break;
        case Proto::REFUSED_STREAM:
          config->retry_on |= static_cast<uint32_t>(RetryCondition::kRefusedStream);
          break;
        case Proto::RETRIABLE_4XX:
          config->retry_on |= static_cast<uint32_t>(RetryCondition::kRetriable4xx);
          break;
        case Proto::RETRIABLE_STATUS_CODES:
          config->retry_on |= static_cast<uint32_t>(RetryCondition::kRetriableStatusCodes);
          break;
        case Proto::RETRIABLE_HEADERS:
          config->retry_on |= static_cast<uint32_t>(RetryCondition::kRetriableHeaders);
          break;
        case Proto::GRPC_CANCELLED:
          config->retry_on |= static_cast<uint32_t>(RetryCondition::kGrpcCancelled);
          break;
        case Proto::GRPC_DEADLINE_EXCEEDED:
          config->retry_on |= static_cast<uint32_t>(RetryCondition::kGrpcDeadlineExceeded);
          break;
        case Proto::GRPC_RESOURCE_EXHAUSTED:
          config->retry_on |= static_cast<uint32_t>(RetryCondition::kGrpcResourceExhausted);
          break;
        case Proto::GRPC_UNAVAILABLE:
          config->retry_on |= static_cast<uint32_t>(RetryCondition::kGrpcUnavailable);
          break;
        case Proto::GRPC_INTERNAL:
          config->retry_on |= static_cast<uint32_t>(RetryCondition::kGrpcInternal);
          break;
        default:
          fail(appendField(path, "retry_on"), "unknown condition " + std::to_string(condition));
          break;
      }
    }
    if (config->retry_on == 0) {
      return nullptr;
    }
    if (policy.has_num_retries()) {
      config->num_retries = policy.num_retries().value();
    }
    if (policy.has_per_try_timeout()) {
      config->per_try_timeout = toMillis(policy.per_try_timeout());
    }
    if (policy.has_per_try_idle_timeout()) {
      config->per_try_idle_timeout = toMillis(policy.per_try_idle_timeout());
    }
    if (policy.has_backoff()) {
      const auto& backoff = policy.backoff();
      if (backoff.has_base_interval()) {
        config->backoff_base = toMillis(backoff.base_interval());
        config->backoff_max = config->backoff_base * 10;
      }
      if (backoff.has_max_interval()) {
        config->backoff_max = toMillis(backoff.max_interval());
      }
      if (config->backoff_max < config->backoff_base) {
        fail(appendField(appendField(path, "backoff"), "max_interval"),
             "is shorter than base_interval");
      }
    }
    config->retriable_status_codes.assign(policy.retriable_status_codes().begin(),
                                          policy.retriable_status_codes().end());
    for (int h = 0; h < policy.retriable_headers_size(); ++h) {
      readHeaderMatcher(policy.retriable_headers(h),
                        appendIndex(appendField(path, "retriable_headers"), h),
                        config->retriable_headers);
    }
    for (const auto& header : policy.reset_headers()) {
      config->reset_headers.push_back(
          {lowerCase(header.name()), header.format() == Proto::ResetHeader::UNIX_TIMESTAMP});
    }
    if (policy.has_max_reset_interval()) {
      config->max_reset_interval = toMillis(policy.max_reset_interval());
    }
    if (policy.has_avoid_previous_hosts()) {
      config->avoid_previous_hosts = policy.avoid_previous_hosts().value();
    }
    return config;
  }

  void readHeaderMatcher(const weft::v1::HeaderMatcher& matcher, const std::string& path,
                         std::vector<HeaderMatchConfig>& out) {
    HeaderMatchConfig config;
    config.name = lowerCase(matcher.name());
    config.invert = matcher.invert();
    if (!readStringMatch(matcher, path, config.value)) {
      if (matcher.has_range()) {
        config.value.kind = ValueMatcher::Kind::kRange;
        config.value.range_start = matcher.range().start();
        config.value.range_end = matcher.range().end();
        if (config.value.range_end <= config.value.range_start) {
          fail(appendField(path, "range"), "end must be greater than start");
        }
      } else {
        config.value.kind = ValueMatcher::Kind::kPresent;
        config.present = matcher.present();
      }
    }
    out.push_back(std::move(config));
  }

  void readQueryMatcher(const weft::v1::QueryParameterMatcher& matcher, const std::string& path,
                        std::vector<QueryMatchConfig>& out) {
    QueryMatchConfig config;
    config.name = matcher.name();
    config.invert = matcher.invert();
    if (!readStringMatch(matcher, path, config.value)) {
      config.value.kind = ValueMatcher::Kind::kPresent;
      config.present = matcher.present();
    }
    out.push_back(std::move(config));
  }

  HeaderMutationConfig readMutation(const weft::v1::HeaderMutation& mutation,
                                    const std::string& path) {
    HeaderMutationConfig config;
    for (const std::string& name : mutation.remove()) {
      config.remove.push_back(lowerCase(name));
    }
    auto read_values = [&](const auto& values, const char* field, std::vector<HeaderField>& into) {
      for (int i = 0; i < values.size(); ++i) {
        std::string name = lowerCase(values[i].name());
        if (name == "host" || name == "content-length" || isConnectionSpecific(name)) {
          fail(appendField(appendIndex(appendField(path, field), i), "name"),
               "\"" + name + "\" cannot be set by a header mutation" +
                   (name == "host" ? " (use host_rewrite)" : " (it is connection-specific)"));
          continue;
        }
        into.push_back({std::move(name), values[i].value()});
      }
    };
    read_values(mutation.set(), "set", config.set);
    read_values(mutation.append(), "append", config.append);
    return config;
  }

  HashPolicyConfig readHashPolicy(const weft::v1::HashPolicy& policy, const std::string& path) {
    using weft::v1::HashPolicy;
    HashPolicyConfig config;
    config.terminal = policy.terminal();
    switch (policy.policy_specifier_case()) {
      case HashPolicy::kHeader:
        config.kind = HashPolicyConfig::Kind::kHeader;
        config.name = lowerCase(policy.header().name());
        break;
      case HashPolicy::kCookie:
        config.kind = HashPolicyConfig::Kind::kCookie;
        config.name = policy.cookie().name();
        config.generate_cookie = policy.cookie().has_ttl();
        config.cookie_ttl = std::chrono::seconds(policy.cookie().ttl().seconds());
        if (!policy.cookie().path().empty()) {
          config.cookie_path = policy.cookie().path();
        }
        break;
      case HashPolicy::kSourceIp:
        config.kind = HashPolicyConfig::Kind::kSourceIp;
        if (!policy.source_ip()) {
          fail(appendField(path, "source_ip"), "must be true when given");
        }
        break;
      case HashPolicy::kQueryParameter:
        config.kind = HashPolicyConfig::Kind::kQueryParameter;
        config.name = policy.query_parameter().name();
        break;
      case HashPolicy::POLICY_SPECIFIER_NOT_SET:
        break;
    }
    return config;
  }

  RedirectConfig readRedirect(const weft::v1::RedirectAction& redirect, const std::string& path,
                              const RouteEntry& entry) {
    using weft::v1::RedirectAction;
    RedirectConfig config;
    switch (redirect.response_code()) {
      case RedirectAction::FOUND:
        config.status = 302;
        break;
      case RedirectAction::SEE_OTHER:
        config.status = 303;
        break;
      case RedirectAction::TEMPORARY_REDIRECT:
        config.status = 307;
        break;
      case RedirectAction::PERMANENT_REDIRECT:
        config.status = 308;
        break;
      default:
        config.status = 301;
        break;
    }
    config.scheme = redirect.scheme_redirect();
    config.host = lowerCase(redirect.host_redirect());
    config.port = redirect.port_redirect();
    config.strip_query = redirect.strip_query();
    if (redirect.path_rewrite_case() == RedirectAction::kPathRedirect) {
      config.path = redirect.path_redirect();
      config.has_path = true;
    } else if (redirect.path_rewrite_case() == RedirectAction::kPrefixRewrite) {
      if (entry.path_kind != PathMatchKind::kPrefix &&
          entry.path_kind != PathMatchKind::kSeparatedPrefix) {
        fail(appendField(path, "prefix_rewrite"), "needs a prefix or path_separated_prefix match");
      }
      config.prefix_rewrite = redirect.prefix_rewrite();
      config.has_prefix_rewrite = true;
    }
    return config;
  }

  std::string_view source_;
  const weft::v1::Node* node_ = nullptr;  // the bootstrap's, during build()
  std::unordered_map<std::string, const weft::v1::Secret*> secrets_;
  authz::CompiledPolicyIndex policies_;
  uint32_t worker_count_;
  std::shared_ptr<const AccessLogConfig> default_access_log_;  // Bootstrap.access_log
  const weft::v1::TracingConfig* default_tracing_ = nullptr;   // Bootstrap.tracing
  bool inbound_listener_ = false;                              // of the listener being read
  bool transparent_listener_ = false;                          // of the listener being read
  // The retry policy of the virtual host whose routes are being read.
  std::shared_ptr<const RetryPolicyConfig> vhost_retry_policy_;
  config::ConfigErrors& errors_;
};

}  // namespace

SnapshotPtr buildSnapshot(const weft::v1::Bootstrap& bootstrap, std::string_view source,
                          config::ConfigErrors& errors, uint32_t worker_count) {
  SnapshotBuilder builder(source, worker_count, errors);
  return builder.build(bootstrap);
}

}  // namespace weft::proxy
