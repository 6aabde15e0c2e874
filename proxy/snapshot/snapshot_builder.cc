#include "proxy/snapshot/snapshot_builder.h"

#include <algorithm>
#include <set>

#include "common/config/field_path.h"

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
  SnapshotBuilder(std::string_view source, config::ConfigErrors& errors)
      : source_(source), errors_(errors) {}

  SnapshotPtr build(const weft::v1::Bootstrap& bootstrap) {
    auto snapshot = std::make_shared<Snapshot>();
    snapshot->source = bootstrap;
    const auto& resources = bootstrap.static_resources();
    const std::string resources_path = "static_resources";

    const std::string clusters_path = appendField(resources_path, "clusters");
    for (int i = 0; i < resources.clusters_size(); ++i) {
      addCluster(*snapshot, resources.clusters(i), appendIndex(clusters_path, i));
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
    if (cluster.type() != weft::v1::Cluster::STATIC) {
      notYet(appendField(path, "type"));
      return;
    }
    if (cluster.lb_policy() != weft::v1::Cluster::ROUND_ROBIN) {
      notYet(appendField(path, "lb_policy"));
    }
    if (cluster.protocol() != weft::v1::Cluster::HTTP1 &&
        cluster.protocol() != weft::v1::Cluster::HTTP2) {
      notYet(appendField(path, "protocol"));
    }
    for (const char* field : {"circuit_breakers", "outlier_detection", "health_check", "tls"}) {
      const auto* descriptor = cluster.GetDescriptor()->FindFieldByName(field);
      if (cluster.GetReflection()->HasField(cluster, descriptor)) {
        notYet(appendField(path, field));
      }
    }
    auto config = std::make_unique<ClusterConfig>();
    config->name = cluster.name();
    config->protocol = cluster.protocol() == weft::v1::Cluster::HTTP2 ? UpstreamProtocol::kHttp2
                                                                      : UpstreamProtocol::kHttp1;
    if (cluster.has_http2()) {
      readHttp2Settings(cluster.http2(), appendField(path, "http2"), config->http2);
    }
    if (cluster.has_connect_timeout()) {
      config->connect_timeout = toMillis(cluster.connect_timeout());
    }
    const std::string endpoints_path =
        appendField(appendField(path, "load_assignment"), "endpoints");
    const auto& assignment = cluster.load_assignment();
    for (int l = 0; l < assignment.endpoints_size(); ++l) {
      const auto& locality = assignment.endpoints(l);
      const std::string locality_path = appendIndex(endpoints_path, l);
      for (int e = 0; e < locality.lb_endpoints_size(); ++e) {
        const auto& lb_endpoint = locality.lb_endpoints(e);
        const std::string endpoint_path =
            appendIndex(appendField(locality_path, "lb_endpoints"), e);
        UpstreamEndpoint endpoint;
        if (!parseAddress(lb_endpoint.endpoint().address(),
                          appendField(appendField(endpoint_path, "endpoint"), "address"),
                          endpoint.address)) {
          continue;
        }
        if (lb_endpoint.has_load_balancing_weight()) {
          endpoint.weight = lb_endpoint.load_balancing_weight().value();
        }
        config->endpoints.push_back(endpoint);
      }
    }
    uint64_t total = 0;
    for (const UpstreamEndpoint& endpoint : config->endpoints) {
      total += endpoint.weight;
    }
    config->picker.setTotal(total);
    snapshot.clusters.emplace(cluster.name(), std::move(config));
  }

  const ClusterConfig* findCluster(const Snapshot& snapshot, const std::string& name,
                                   const std::string& path) {
    auto it = snapshot.clusters.find(name);
    if (it == snapshot.clusters.end()) {
      fail(path, "unknown cluster \"" + name + "\"");
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
      if (chain.has_tls()) {
        notYet(appendField(chain_path, "tls"));
      }
      if (chain.has_authorization()) {
        notYet(appendField(chain_path, "authorization"));
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

  std::optional<TcpChainConfig> addTcpChain(const Snapshot& snapshot, const weft::v1::TcpProxy& tcp,
                                            const std::string& path) {
    TcpChainConfig config;
    if (tcp.has_weighted_clusters()) {
      const auto& split = tcp.weighted_clusters().clusters();
      for (int i = 0; i < split.size(); ++i) {
        const std::string name_path = appendField(
            appendIndex(appendField(appendField(path, "weighted_clusters"), "clusters"), i),
            "name");
        if (const ClusterConfig* cluster = findCluster(snapshot, split[i].name(), name_path)) {
          if (split[i].weight() > 0) {
            config.clusters.push_back({cluster, split[i].weight()});
          }
        }
      }
      if (config.clusters.empty() && errors_.empty()) {
        fail(appendField(path, "weighted_clusters"), "all weights are 0");
      }
    } else if (const ClusterConfig* cluster =
                   findCluster(snapshot, tcp.cluster(), appendField(path, "cluster"))) {
      config.clusters.push_back({cluster, 1});
    }
    uint64_t total = 0;
    for (const WeightedClusterRef& ref : config.clusters) {
      total += ref.weight;
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
    for (int v = 0; v < routes.virtual_hosts_size(); ++v) {
      const auto& vhost = routes.virtual_hosts(v);
      const std::string vhost_path = appendIndex(appendField(path, "virtual_hosts"), v);
      VirtualHostConfig host;
      host.name = vhost.name();
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
    if (match.headers_size() > 0) {
      notYet(appendField(match_path, "headers"));
    }
    if (match.query_parameters_size() > 0) {
      notYet(appendField(match_path, "query_parameters"));
    }
    if (match.methods_size() > 0) {
      notYet(appendField(match_path, "methods"));
    }
    if (route.has_direct_response()) {
      const uint32_t status = route.direct_response().status();
      if ((status == 204 || status == 304) && !route.direct_response().body().empty()) {
        fail(appendField(appendField(path, "direct_response"), "body"),
             "a " + std::to_string(status) + " response has no body");
      }
      entry.direct_response.emplace(route.direct_response().status(),
                                    route.direct_response().body());
    } else if (route.has_route()) {
      const auto& action = route.route();
      const std::string action_path = appendField(path, "route");
      if (action.has_weighted_clusters()) {
        const auto& split = action.weighted_clusters().clusters();
        for (int i = 0; i < split.size(); ++i) {
          const std::string name_path = appendField(
              appendIndex(appendField(appendField(action_path, "weighted_clusters"), "clusters"),
                          i),
              "name");
          if (const ClusterConfig* cluster = findCluster(snapshot, split[i].name(), name_path)) {
            if (split[i].weight() > 0) {
              entry.clusters.push_back({cluster, split[i].weight()});
            }
          }
        }
        if (entry.clusters.empty() && errors_.empty()) {
          fail(appendField(action_path, "weighted_clusters"), "all weights are 0");
        }
      } else if (const ClusterConfig* cluster =
                     findCluster(snapshot, action.cluster(), appendField(action_path, "cluster"))) {
        entry.clusters.push_back({cluster, 1});
      }
      uint64_t total = 0;
      for (const WeightedClusterRef& ref : entry.clusters) {
        total += ref.weight;
      }
      entry.picker.setTotal(total);
      if (action.path_rewrite_case() == weft::v1::RouteAction::kPrefixRewrite) {
        if (entry.path_kind != PathMatchKind::kPrefix) {
          fail(appendField(action_path, "prefix_rewrite"), "needs a prefix match");
        }
        entry.prefix_rewrite = action.prefix_rewrite();
        entry.has_prefix_rewrite = true;
      } else if (action.has_regex_rewrite()) {
        notYet(appendField(action_path, "regex_rewrite"));
      }
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
      if (action.has_retry_policy()) {
        notYet(appendField(action_path, "retry_policy"));
      }
    } else {
      notYet(appendField(path, "redirect"));
    }
    if (route.has_fault()) {
      notYet(appendField(path, "fault"));
    }
    if (route.has_rate_limit()) {
      notYet(appendField(path, "rate_limit"));
    }
    host.routes.push_back(std::move(entry));
  }

  std::string_view source_;
  config::ConfigErrors& errors_;
};

}  // namespace

SnapshotPtr buildSnapshot(const weft::v1::Bootstrap& bootstrap, std::string_view source,
                          config::ConfigErrors& errors) {
  SnapshotBuilder builder(source, errors);
  return builder.build(bootstrap);
}

}  // namespace weft::proxy
