#pragma once

#include <re2/re2.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/access_log/access_log_config.h"
#include "proxy/authz/policy_set.h"
#include "proxy/filters/fault_injection.h"
#include "proxy/filters/local_rate_limit.h"
#include "proxy/router/header_mutation.h"
#include "proxy/router/path_normalization.h"
#include "proxy/router/request_match.h"
#include "proxy/stats/request_metrics.h"
#include "proxy/tls/tls_contexts.h"
#include "proxy/tls/upstream_tls.h"
#include "proxy/tracing/tracing_config.h"
#include "proxy/upstream/connection_limit.h"
#include "proxy/upstream/health/active_health_verdicts.h"
#include "proxy/upstream/health/health_check_config.h"
#include "proxy/upstream/lb/lb_factory.h"
#include "proxy/upstream/lb/load_balancer.h"
#include "proxy/upstream/lb/priority_set.h"
#include "proxy/upstream/resilience/circuit_breaker.h"
#include "proxy/upstream/resilience/outlier_detector.h"
#include "proxy/upstream/resilience/retry_budget.h"
#include "proxy/upstream/resilience/retry_policy.h"
#include "weft/v1/bootstrap.pb.h"

namespace weft::proxy {

// The proxy's configuration in the form the request path reads: built once per
// config update from the API messages, immutable afterwards, and shared by all
// workers through std::shared_ptr<const Snapshot>. Names are resolved to
// pointers here so that no request ever looks a cluster up by string.

// Spreads weighted picks: ticket -> (ticket * stride) % total_weight visits every
// point of [0, total_weight) once per cycle when stride and total_weight are
// coprime, so a 90/10 split is exact over every 100 picks and interleaved rather
// than 90 in a row.
struct WeightedPicker {
  uint64_t total_weight = 0;
  uint64_t stride = 1;

  void setTotal(uint64_t total);
  uint64_t point(uint64_t ticket) const { return (ticket * stride) % total_weight; }
};

// HTTP/2 settings of one side of the proxy (Http2ProtocolOptions).
struct Http2Settings {
  uint32_t max_concurrent_streams = 100;
  uint32_t initial_stream_window = 256 * 1024;
  uint32_t initial_connection_window = 1024 * 1024;
};

// The protocol a cluster's endpoints speak for HTTP requests.
enum class UpstreamProtocol { kHttp1, kHttp2 };

// One worker's state for one cluster: its hosts (health flags, active requests)
// and its load balancer. Made by that worker on first use and touched by no
// other thread.
struct WorkerClusterState {
  std::unique_ptr<lb::PrioritySet> hosts;
  lb::LoadBalancerPtr balancer;
  // With max_connections_per_host: per host (by Host::index()), made on first use.
  std::vector<std::shared_ptr<HostConnectionLimit>> connection_limits;
  // This worker's share of the cluster's retry budget.
  // Shared with the same cluster's state in the snapshots before and after it, when the budget's
  // settings did not change: requests still on an older snapshot spend from the same bucket.
  std::shared_ptr<RetryBudget> retry_budget;
  // With outlier detection: this worker's ejections of the cluster's hosts.
  std::unique_ptr<OutlierDetector> outlier;
  // With active health checking: the ActiveHealthVerdicts generation last copied into
  // `hosts` (0: none yet).
  uint64_t active_health_generation = 0;
};

struct ClusterConfig {
  std::string name;
  // ORIGINAL_DST: no endpoints; a TCP chain connects each connection to the original
  // destination the transparent listener read (passthrough of destinations the mesh does not
  // know).
  bool original_destination = false;
  // ORIGINAL_DST with connect_to_loopback: the original port on 127.0.0.1 (or ::1), for an
  // inbound application bound to loopback.
  bool original_destination_loopback = false;
  UpstreamProtocol protocol = UpstreamProtocol::kHttp1;
  Http2Settings http2;  // with kHttp2
  std::chrono::milliseconds connect_timeout{5000};
  // Endpoints by priority and locality, policy, and the shared hash tables.
  std::unique_ptr<lb::LoadBalancerFactory> lb_factory;
  // RING_HASH or MAGLEV: routes compute a request hash for it.
  bool hash_based = false;
  // Idle keep-alive upstream connections are closed after this long; 0: never.
  std::chrono::milliseconds upstream_idle_timeout{60'000};
  // Requests per upstream connection before it is closed; 0: unlimited.
  uint32_t max_requests_per_connection = 0;
  // Connections to one endpoint from this proxy, divided among the workers
  // (connectionLimitShare); 0: unlimited.
  uint32_t max_connections_per_host = 0;
  // How many retries requests to this cluster may add (circuit_breakers'
  // retry_budget, else the default: 20 % of requests plus 10 a second).
  RetryBudgetConfig retry_budget;
  // Circuit-breaker thresholds, and the counts they apply to (shared by all
  // workers and by the snapshots that name this cluster).
  CircuitBreakerLimits circuit_limits;
  // Passive health checking of the endpoints; unset: off.
  std::optional<OutlierConfig> outlier;
  std::shared_ptr<ClusterCircuitCounts> circuit;
  // Active health checking; null: off. With it, the port each host is probed on (by
  // Host::index(); 0: the host's own) and the checker's verdicts, which workerState() copies
  // into the worker's hosts whenever they change.
  std::unique_ptr<const HealthCheckConfig> health_check;
  std::vector<uint16_t> health_check_ports;
  // For the golden metrics, MetricLabelTable ids of the destination: per endpoint (by
  // Host::index(): its workload and namespace from EDS metadata, and destination_service) for
  // outbound requests; `metric_local` (this proxy's own workload) for inbound ones.
  std::vector<uint32_t> metric_destinations;
  uint32_t metric_local = MetricLabelTable::kUnknown;
  uint32_t metric_service = MetricLabelTable::kUnknown;  // the service alone (no endpoint)
  uint32_t metricDestination(TrafficDirection direction, const lb::Host* host) const;
  std::unique_ptr<ActiveHealthVerdicts> active_health;

  // TLS towards the endpoints; null: plaintext.
  // Shared: an upstream HTTP/2 connection keeps it for its handshake.
  std::shared_ptr<const UpstreamTlsConfig> tls;
  // With MUTUAL_MESH, per endpoint (by Host::index()): kPlaintextEndpoint (not mtls_ready),
  // kAnyMeshIdentity (EDS named none), or kFirstIdentity + i for mesh_identities[i]. Endpoints
  // of a service share an identity, so each id is stored once per cluster, not per host.
  static constexpr uint32_t kPlaintextEndpoint = 0;
  static constexpr uint32_t kAnyMeshIdentity = 1;
  static constexpr uint32_t kFirstIdentity = 2;
  std::vector<uint32_t> endpoint_tls;
  std::vector<std::string> mesh_identities;

  // How to reach `host`: plaintext, or TLS with the identity it must prove.
  UpstreamTransport transportFor(const lb::Host& host) const {
    return transportForIndex(host.index());
  }
  UpstreamTransport transportForIndex(uint32_t host_index) const;

  // The state of worker `worker_index`, made on first use. Each worker writes
  // only its own slot of `per_worker` (sized at build for every worker), so the
  // otherwise immutable snapshot carries per-worker state without a lock, and a
  // request that holds the snapshot keeps its hosts alive.
  WorkerClusterState& workerState(uint32_t worker_index) const;

  // Called by worker `worker_index` when this config replaces `previous` (the same cluster in
  // the config before): when the worker had state there, this cluster's starts from it, so
  // outlier ejections and the retry budget survive config updates.
  void adoptWorkerState(const ClusterConfig& previous, uint32_t worker_index) const;

  mutable std::vector<std::unique_ptr<WorkerClusterState>> per_worker;

  // Worker `worker_index`'s share of max_connections_per_host: an equal part,
  // the remainder going to the first workers, and at least one, so that the
  // shares add up to the limit whenever it is at least the number of workers.
  uint32_t connectionLimitShare(uint32_t worker_index) const;

  // Worker `worker_index`'s connection limit for host `host_index`, or null when
  // the cluster has none (callers test max_connections_per_host first, so
  // unlimited clusters pay nothing). Made on first use; the worker's thread only.
  std::shared_ptr<HostConnectionLimit> connectionLimit(uint32_t worker_index,
                                                       uint32_t host_index) const;
};

struct WeightedClusterRef {
  const ClusterConfig* cluster = nullptr;
  uint32_t weight = 1;
  // Innermost header mutations, applied when this backend of a split is chosen.
  HeaderMutationConfig request_headers;
  HeaderMutationConfig response_headers;
};

// One input to the request hash of RING_HASH and MAGLEV clusters.
struct HashPolicyConfig {
  enum class Kind : uint8_t { kHeader, kCookie, kSourceIp, kQueryParameter };
  Kind kind = Kind::kHeader;
  std::string name;  // header (lower-case), cookie or query parameter name
  // Cookie: generate one when absent; ttl 0 makes a session cookie.
  bool generate_cookie = false;
  std::chrono::seconds cookie_ttl{0};
  std::string cookie_path = "/";
  bool terminal = false;
};

// Answer with a redirect (RedirectAction).
struct RedirectConfig {
  unsigned status = 301;
  std::string scheme;  // empty: the request's
  std::string host;    // empty: the request's
  uint32_t port = 0;   // 0: the request's
  std::string path;    // whole new path, when has_path
  bool has_path = false;
  std::string prefix_rewrite;  // replaces the matched prefix, when has_prefix_rewrite
  bool has_prefix_rewrite = false;
  bool strip_query = false;
};

enum class PathMatchKind { kPrefix, kExact, kRegex, kSeparatedPrefix };

struct RouteEntry {
  std::string name;
  PathMatchKind path_kind = PathMatchKind::kPrefix;
  std::string path;
  std::unique_ptr<RE2> path_regex;
  bool case_sensitive = true;
  // Header, query parameter and method conditions.
  RequestConditions conditions;

  // Exactly one of these three: forward to clusters, redirect, or answer directly.
  std::vector<WeightedClusterRef> clusters;
  WeightedPicker picker;  // over cluster weights
  // Rare, and large inline: held out of line so that the common forwarding
  // route stays small (1,000 routes: 0.2 MB less).
  std::unique_ptr<const RedirectConfig> redirect;
  std::unique_ptr<const std::pair<unsigned, std::string>> direct_response;

  std::string prefix_rewrite;
  bool has_prefix_rewrite = false;
  std::unique_ptr<RE2> regex_rewrite;  // every match replaced by regex_substitution
  std::string regex_substitution;
  std::string host_rewrite;  // empty: keep the authority
  // Zero means no deadline.
  std::chrono::milliseconds timeout{15000};
  std::vector<HashPolicyConfig> hash_policies;

  HeaderMutationConfig request_headers;
  HeaderMutationConfig response_headers;
  // Set: a gRPC request's grpc-timeout sets its deadline, capped here (0: no cap).
  std::optional<std::chrono::milliseconds> max_grpc_timeout;
  std::chrono::milliseconds grpc_timeout_offset{0};
  // Faults injected into the route's requests; null: none.
  std::unique_ptr<const FaultConfig> fault;
  // The route's request rate limit (shared by all workers); null: none.
  std::unique_ptr<LocalRateLimit> rate_limit;
  // Clusters receiving copies of the route's requests, each with its share in
  // parts per million.
  struct Mirror {
    const ClusterConfig* cluster = nullptr;
    uint32_t share = 1'000'000;
  };
  std::vector<Mirror> mirrors;
  // The route's retry policy, else its virtual host's (shared); null: no retries.
  std::shared_ptr<const RetryPolicyConfig> retry_policy;
  // Set: overrides the chain's stream_idle_timeout (0: none).
  std::optional<std::chrono::milliseconds> idle_timeout;
  // Route.metadata, sorted by key (%ROUTE_METADATA(key)% in TEXT access logs).
  std::vector<std::pair<std::string, std::string>> metadata;
  // Set: replaces the access log's sample threshold for this route's requests.
  std::optional<uint64_t> access_log_sample_threshold;

  bool matchesPath(std::string_view path_without_query) const;
};

struct VirtualHostConfig {
  std::string name;
  std::vector<std::string> exact_domains;   // lower-case, port stripped
  std::vector<std::string> suffix_domains;  // "*.example.com" stored as ".example.com"
  std::vector<std::string> prefix_domains;  // "foo.*" stored as "foo."
  bool matches_any = false;                 // "*"
  std::vector<RouteEntry> routes;
  HeaderMutationConfig request_headers;
  HeaderMutationConfig response_headers;
};

class RouteTable {
 public:
  std::string name;
  std::vector<VirtualHostConfig> virtual_hosts;
  HeaderMutationConfig request_headers;
  HeaderMutationConfig response_headers;

  // The virtual host for a Host/:authority value: exact domains first, then the
  // longest suffix wildcard, then the longest prefix wildcard, then "*".
  const VirtualHostConfig* findVirtualHost(std::string_view authority) const;

  // The first route of `host` whose match accepts the request: path, then
  // methods, headers and query parameters.
  static const RouteEntry* findRoute(const VirtualHostConfig& host, const RequestView& request);
};

struct HttpListenerLimits {
  uint32_t max_request_headers_bytes = 60 * 1024;
  uint32_t max_request_headers = 100;
  std::chrono::milliseconds request_headers_timeout{10000};
  std::chrono::milliseconds idle_timeout{3'600'000};
  // A request with no bytes moving either way for this long is ended (0: none).
  std::chrono::milliseconds stream_idle_timeout{300'000};
  bool append_x_forwarded_for = true;
  bool generate_request_id = true;
};

// An address prefix, compiled for matching.
struct CidrMatch {
  boost::asio::ip::address prefix;
  uint32_t prefix_len = 0;

  bool contains(const boost::asio::ip::address& address) const;
};

enum class TransportKind { kAny, kPlaintext, kTls };

// What the listener learned about a new connection before choosing a chain.
struct ConnectionFacts {
  boost::asio::ip::tcp::endpoint destination;  // original destination when transparent
  boost::asio::ip::tcp::endpoint source;
  TransportKind transport = TransportKind::kPlaintext;
  std::string_view application_protocol;  // "http/1.1", "h2c", or empty for opaque
  std::string_view server_name;           // TLS SNI, when seen
};

struct FilterChainMatchConfig {
  std::vector<uint16_t> destination_ports;
  std::vector<CidrMatch> destination_cidrs;
  std::vector<CidrMatch> source_cidrs;
  std::vector<std::string> server_names;  // lower-case; "*.x" kept as ".x" suffix
  TransportKind transport = TransportKind::kAny;
  std::vector<std::string> application_protocols;

  bool matches(const ConnectionFacts& facts) const;
};

enum class HttpCodec : uint8_t { kAuto, kHttp1, kHttp2 };

struct HttpChainConfig {
  const RouteTable* routes = nullptr;
  HttpListenerLimits limits;
  Http2Settings http2;  // for HTTP/2 (h2c) connections on this chain
  HttpCodec codec = HttpCodec::kAuto;
  PathNormalizationConfig path_normalization;
  bool request_id_in_response = false;
  bool hide_local_reply_reason = false;
  // Requests (HTTP/2: streams) per downstream connection before it is drained; 0: no limit.
  uint32_t max_requests_per_connection = 0;
  // Upgrade protocols tunnelled (lower-case names, e.g. "websocket").
  std::vector<std::string> upgrade_types;
  // One line per request; null: no access log.
  std::shared_ptr<const AccessLogConfig> access_log;
  // Trace context propagation and spans; null: trace headers are left alone.
  std::shared_ptr<const ChainTracingConfig> tracing;
};

struct TcpChainConfig {
  std::vector<WeightedClusterRef> clusters;
  WeightedPicker picker;
  std::chrono::milliseconds idle_timeout{3'600'000};  // 0: none
  uint32_t max_connect_attempts = 1;                  // each to another host when there is one
  // One line per connection; null: no access log.
  std::shared_ptr<const AccessLogConfig> access_log;
};

struct FilterChainConfig {
  std::string name;
  FilterChainMatchConfig match;
  // TLS termination; null: connections are served as they arrive (DISABLE).
  std::shared_ptr<const DownstreamTlsConfig> tls;
  // Authorization of requests (HTTP) or connections (TCP); null: everything is allowed.
  std::shared_ptr<const authz::AuthorizationPolicySet> authorization;
  // Exactly one of the two.
  std::optional<HttpChainConfig> http;
  std::optional<TcpChainConfig> tcp;
};

struct DetectionConfig {
  bool disabled = false;
  std::chrono::milliseconds timeout{100};
  std::vector<uint16_t> opaque_ports;
};

// TCP keepalive probing of accepted connections; unset fields keep the kernel's.
struct TcpKeepaliveConfig {
  uint32_t probes = 0;
  uint32_t idle_seconds = 0;
  uint32_t interval_seconds = 0;
};

struct ListenerConfig {
  std::string name;
  boost::asio::ip::tcp::endpoint address;
  bool transparent = false;
  // For the golden metrics: which way its traffic goes, and the source labels of its requests
  // (this proxy's workload for outbound traffic; inbound, the caller, known by its mTLS
  // identity when it has one: see requestSource()).
  TrafficDirection direction = TrafficDirection::kUnspecified;
  uint32_t metric_source = MetricLabelTable::kUnknown;
  // The destination of a request answered before a cluster is chosen (no route, denied):
  // inbound, this proxy's own workload; otherwise unknown.
  uint32_t metric_destination = MetricLabelTable::kUnknown;
  uint32_t backlog = 1024;
  std::optional<TcpKeepaliveConfig> keepalive;
  DetectionConfig detection;
  std::vector<FilterChainConfig> chains;

  // The first chain whose match fits, or null.
  const FilterChainConfig* selectChain(const ConnectionFacts& facts) const {
    for (const FilterChainConfig& chain : chains) {
      if (chain.match.matches(facts)) {
        return &chain;
      }
    }
    return nullptr;
  }

  const FilterChainConfig* findChain(std::string_view chain_name) const {
    for (const FilterChainConfig& chain : chains) {
      if (chain.name == chain_name) {
        return &chain;
      }
    }
    return nullptr;
  }
};

struct Snapshot {
  // The listener named `name`, or null. Listeners are few; a scan is cheapest.
  const ListenerConfig* findListener(std::string_view name) const {
    for (const ListenerConfig& listener : listeners) {
      if (listener.name == name) {
        return &listener;
      }
    }
    return nullptr;
  }

  // The Bootstrap the snapshot was built from, serialized: a third of the parsed
  // message's memory, and read back only for the admin config dump.
  std::string source;
  weft::v1::Bootstrap bootstrap() const {
    weft::v1::Bootstrap message;
    message.ParseFromString(source);
    return message;
  }
  std::vector<ListenerConfig> listeners;
  // unique_ptr keeps addresses stable for the pointers held above.
  std::unordered_map<std::string, std::unique_ptr<ClusterConfig>> clusters;
  std::unordered_map<std::string, std::unique_ptr<RouteTable>> route_tables;
  // Bootstrap.tracing's exporter; null: spans are not exported.
  std::shared_ptr<const SpanExportConfig> span_export;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

}  // namespace weft::proxy
