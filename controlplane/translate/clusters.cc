#include "controlplane/translate/clusters.h"

#include "controlplane/translate/names.h"

namespace weft::controlplane {
namespace {

using weft::mesh::v1alpha1::ClientTls;
using weft::mesh::v1alpha1::LoadBalancer;
using weft::mesh::v1alpha1::TrafficPolicy;

// Mesh API defaults that differ from the proxy's own, so they are written out; every other
// unset field is left unset and the proxy's default (the same value) applies.
constexpr int64_t kConnectTimeoutSeconds = 1;        // proxy: 5s
constexpr int64_t kIdleTimeoutSeconds = 3600;        // proxy: 60s
constexpr int64_t kHealthCheckIntervalSeconds = 10;  // proxy: required
constexpr int64_t kHealthCheckTimeoutSeconds = 1;    // proxy: required
constexpr uint32_t kHealthyThreshold = 1;            // proxy: 2

google::protobuf::Duration seconds(int64_t value) {
  google::protobuf::Duration duration;
  duration.set_seconds(value);
  return duration;
}

bool isConsistentHash(LoadBalancer::Algorithm algorithm) {
  return algorithm == LoadBalancer::RING_HASH || algorithm == LoadBalancer::MAGLEV;
}

weft::v1::Cluster::LbPolicy lbPolicy(LoadBalancer::Algorithm algorithm) {
  switch (algorithm) {
    case LoadBalancer::ROUND_ROBIN:
      return weft::v1::Cluster::ROUND_ROBIN;
    case LoadBalancer::RANDOM:
      return weft::v1::Cluster::RANDOM;
    case LoadBalancer::RING_HASH:
      return weft::v1::Cluster::RING_HASH;
    case LoadBalancer::MAGLEV:
      return weft::v1::Cluster::MAGLEV;
    default:
      return weft::v1::Cluster::LEAST_REQUEST;
  }
}

// Circuit-breaker limits from the connection pool, when the user set any (or the mesh sets
// a retry budget); unset limits keep the proxy's defaults, which equal the mesh's.
void addCircuitBreakers(const weft::mesh::v1alpha1::ConnectionPool& pool,
                        const MeshSettings& settings, weft::v1::Cluster& cluster) {
  const bool any_limit = pool.has_max_connections() || pool.has_max_pending_requests() ||
                         pool.has_max_requests() || pool.has_max_retries();
  if (!any_limit && !settings.retry_budget_percent) {
    return;
  }
  auto& thresholds = *cluster.mutable_circuit_breakers()->add_thresholds();
  thresholds.set_priority(weft::v1::PRIORITY_DEFAULT);
  if (pool.has_max_connections()) {
    *thresholds.mutable_max_connections() = pool.max_connections();
  }
  if (pool.has_max_pending_requests()) {
    *thresholds.mutable_max_pending_requests() = pool.max_pending_requests();
  }
  if (pool.has_max_requests()) {
    *thresholds.mutable_max_requests() = pool.max_requests();
  }
  if (pool.has_max_retries()) {
    *thresholds.mutable_max_retries() = pool.max_retries();
  }
  // A budget replaces max_retries in the proxy, so the mesh-wide budget applies only where
  // the DestinationPolicy does not set its own limit.
  if (settings.retry_budget_percent && !pool.has_max_retries()) {
    thresholds.mutable_retry_budget()->mutable_budget_percent()->set_value(
        *settings.retry_budget_percent);
  }
}

void addConnectionPool(const weft::mesh::v1alpha1::ConnectionPool& pool,
                       weft::v1::Cluster& cluster) {
  auto& out = *cluster.mutable_connection_pool();
  if (pool.has_max_requests_per_connection()) {
    *out.mutable_max_requests_per_connection() = pool.max_requests_per_connection();
  }
  if (pool.has_max_connections_per_endpoint()) {
    *out.mutable_max_connections_per_host() = pool.max_connections_per_endpoint();
  }
  *out.mutable_idle_timeout() =
      pool.has_idle_timeout() ? pool.idle_timeout() : seconds(kIdleTimeoutSeconds);
}

void addOutlierDetection(const weft::mesh::v1alpha1::OutlierDetection& detection,
                         weft::v1::Cluster& cluster) {
  auto& out = *cluster.mutable_outlier_detection();
  if (detection.has_consecutive_errors()) {
    *out.mutable_consecutive_5xx() = detection.consecutive_errors();
  }
  if (detection.has_consecutive_gateway_errors()) {
    *out.mutable_consecutive_gateway_failure() = detection.consecutive_gateway_errors();
  }
  if (detection.has_interval()) {
    *out.mutable_interval() = detection.interval();
  }
  if (detection.has_base_ejection_time()) {
    *out.mutable_base_ejection_time() = detection.base_ejection_time();
  }
  if (detection.has_max_ejection_percent()) {
    *out.mutable_max_ejection_percent() = detection.max_ejection_percent();
  }
}

void addHealthCheck(const weft::mesh::v1alpha1::HealthCheck& check, weft::v1::Cluster& cluster) {
  auto& out = *cluster.mutable_health_check();
  *out.mutable_timeout() =
      check.has_timeout() ? check.timeout() : seconds(kHealthCheckTimeoutSeconds);
  *out.mutable_interval() =
      check.has_interval() ? check.interval() : seconds(kHealthCheckIntervalSeconds);
  if (check.has_unhealthy_threshold()) {
    *out.mutable_unhealthy_threshold() = check.unhealthy_threshold();
  }
  if (check.has_healthy_threshold()) {
    *out.mutable_healthy_threshold() = check.healthy_threshold();
  } else {
    out.mutable_healthy_threshold()->set_value(kHealthyThreshold);
  }
  if (check.http_path().empty()) {
    out.mutable_tcp();
  } else {
    out.mutable_http()->set_path(check.http_path());
    // The CRD promises "2xx is healthy"; the proxy's own default also takes 3xx.
    auto& statuses = *out.mutable_http()->add_expected_statuses();
    statuses.set_start(200);
    statuses.set_end(300);
  }
}

}  // namespace

TrafficPolicy effectiveTrafficPolicy(const CatalogService& service,
                                     const weft::mesh::v1alpha1::Subset* subset) {
  TrafficPolicy policy;
  if (service.policy != nullptr) {
    policy = service.policy->spec.traffic_policy();
  }
  if (subset == nullptr || !subset->has_traffic_policy()) {
    return policy;
  }
  const TrafficPolicy& own = subset->traffic_policy();
  if (own.has_load_balancer()) {
    *policy.mutable_load_balancer() = own.load_balancer();
  }
  if (own.has_connection_pool()) {
    *policy.mutable_connection_pool() = own.connection_pool();
  }
  if (own.has_outlier_detection()) {
    *policy.mutable_outlier_detection() = own.outlier_detection();
  }
  if (own.has_health_check()) {
    *policy.mutable_health_check() = own.health_check();
  }
  if (own.has_tls()) {
    *policy.mutable_tls() = own.tls();
  }
  return policy;
}

UpstreamSecurity upstreamSecurity(const TrafficPolicy& policy, bool mesh_mtls) {
  if (!mesh_mtls) {
    return UpstreamSecurity::kPlaintext;
  }
  switch (policy.tls().mode()) {
    case ClientTls::AUTO:
      return UpstreamSecurity::kMeshWhereReady;
    case ClientTls::MESH:
      return UpstreamSecurity::kMeshAlways;
    default:
      return UpstreamSecurity::kPlaintext;
  }
}

void checkTrafficPolicy(const TrafficPolicy& policy, const std::string& what, bool mesh_mtls,
                        ProblemLog& problems) {
  const auto& balancer = policy.load_balancer();
  if (isConsistentHash(balancer.algorithm()) && !balancer.has_consistent_hash()) {
    problems.add(what + ": " + LoadBalancer::Algorithm_Name(balancer.algorithm()) +
                 " needs consistentHash; without a key every request goes to a random endpoint");
  }
  if (!isConsistentHash(balancer.algorithm()) && balancer.has_consistent_hash()) {
    problems.add(what + ": consistentHash is used only with RING_HASH and MAGLEV; it is ignored");
  }
  const ClientTls& tls = policy.tls();
  if (tls.mode() == ClientTls::SIMPLE) {
    problems.add(what +
                 ": tls mode SIMPLE is not applied yet (it needs the system's trusted roots as a "
                 "Secret, which the control plane cannot name for every proxy); connections stay "
                 "plaintext");
  } else if (!tls.sni().empty()) {
    problems.add(what + ": tls.sni is used with mode SIMPLE only; it is ignored");
  }
  if (tls.mode() == ClientTls::MESH && !mesh_mtls) {
    problems.add(what +
                 ": tls mode MESH needs workload certificates, and the control plane has no "
                 "certificate authority; connections stay plaintext");
  }
}

std::vector<weft::v1::HashPolicy> hashPolicies(const TrafficPolicy& policy) {
  const auto& balancer = policy.load_balancer();
  if (!isConsistentHash(balancer.algorithm()) || !balancer.has_consistent_hash()) {
    return {};
  }
  using Hash = LoadBalancer::ConsistentHash;
  const Hash& key = balancer.consistent_hash();
  weft::v1::HashPolicy hash;
  switch (key.key_case()) {
    case Hash::kHeader:
      hash.mutable_header()->set_name(key.header());
      break;
    case Hash::kCookie:
      hash.mutable_cookie()->set_name(key.cookie());
      break;
    case Hash::kSourceIp:
      if (!key.source_ip()) {
        return {};
      }
      hash.set_source_ip(true);
      break;
    case Hash::kQueryParam:
      hash.mutable_query_parameter()->set_name(key.query_param());
      break;
    case Hash::KEY_NOT_SET:
      return {};
  }
  return {std::move(hash)};
}

weft::v1::Cluster::Protocol clusterProtocol(PortProtocol protocol) {
  switch (protocol) {
    case PortProtocol::kHttp2:
    case PortProtocol::kGrpc:
      return weft::v1::Cluster::HTTP2;
    case PortProtocol::kHttp:
    case PortProtocol::kTcp:
      break;
  }
  // HTTP/1.1 for HTTP ports, where the mesh would prefer USE_DOWNSTREAM, and the default for
  // TCP ports, which only TCP proxies use and where the protocol is not consulted: this
  // version of weft-proxy implements the HTTP1 and HTTP2 values only and rejects the others.
  return weft::v1::Cluster::HTTP1;
}

weft::v1::Cluster outboundCluster(const std::string& name, const std::string& fqdn,
                                  PortProtocol protocol, const TrafficPolicy& policy,
                                  UpstreamSecurity security, const MeshSettings& settings) {
  weft::v1::Cluster cluster;
  cluster.set_name(name);
  cluster.set_type(weft::v1::Cluster::EDS);
  const auto& pool = policy.connection_pool();
  *cluster.mutable_connect_timeout() =
      pool.has_connect_timeout() ? pool.connect_timeout() : seconds(kConnectTimeoutSeconds);
  // LEAST_REQUEST is the mesh's default algorithm and not the proxy's, so it is always written.
  cluster.set_lb_policy(lbPolicy(policy.load_balancer().algorithm()));
  cluster.set_protocol(clusterProtocol(protocol));
  addCircuitBreakers(pool, settings, cluster);
  addConnectionPool(pool, cluster);
  if (policy.has_outlier_detection()) {
    addOutlierDetection(policy.outlier_detection(), cluster);
  }
  if (policy.has_health_check()) {
    addHealthCheck(policy.health_check(), cluster);
  }
  if (security != UpstreamSecurity::kPlaintext) {
    // Certificates and roots are the defaults "identity" and "trust-bundle"; the endpoint's
    // identity comes with each endpoint.
    cluster.mutable_tls()->set_mode(weft::v1::UpstreamTls::MUTUAL_MESH);
    cluster.mutable_tls()->set_min_version(weft::v1::TLS_V1_3);
  }
  cluster.set_destination_service(fqdn);
  return cluster;
}

weft::v1::Cluster fallbackCluster(bool registry_only) {
  weft::v1::Cluster cluster;
  cluster.set_name(std::string(registry_only ? kBlackholeCluster : kPassthroughCluster));
  cluster.set_type(registry_only ? weft::v1::Cluster::STATIC : weft::v1::Cluster::ORIGINAL_DST);
  *cluster.mutable_connect_timeout() = seconds(kConnectTimeoutSeconds);
  return cluster;
}

weft::v1::Cluster inboundPassthroughCluster() {
  weft::v1::Cluster cluster;
  cluster.set_name(std::string(kInboundPassthroughCluster));
  cluster.set_type(weft::v1::Cluster::ORIGINAL_DST);
  *cluster.mutable_connect_timeout() = seconds(kConnectTimeoutSeconds);
  cluster.mutable_original_dst()->set_connect_to_loopback(true);
  return cluster;
}

weft::v1::Cluster inboundCluster(uint32_t port, const std::string& address, PortProtocol protocol,
                                 const std::string& destination_service) {
  weft::v1::Cluster cluster;
  cluster.set_name(inboundClusterName(port));
  cluster.set_type(weft::v1::Cluster::STATIC);
  *cluster.mutable_connect_timeout() = seconds(kConnectTimeoutSeconds);
  cluster.set_protocol(clusterProtocol(protocol));
  auto& endpoint = *cluster.mutable_load_assignment()->add_endpoints()->add_lb_endpoints();
  auto& socket = *endpoint.mutable_endpoint()->mutable_address();
  socket.set_address(address);
  socket.set_port(port);
  cluster.set_destination_service(destination_service);
  return cluster;
}

}  // namespace weft::controlplane
