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

#include "weft/v1/bootstrap.pb.h"

namespace weft::proxy {

// The proxy's configuration in the form the request path reads: built once per
// config update from the API messages, immutable afterwards, and shared by all
// workers through std::shared_ptr<const Snapshot>. Names are resolved to
// pointers here so that no request ever looks a cluster up by string.

struct UpstreamEndpoint {
  boost::asio::ip::tcp::endpoint address;
  uint32_t weight = 1;
};

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

struct ClusterConfig {
  std::string name;
  UpstreamProtocol protocol = UpstreamProtocol::kHttp1;
  Http2Settings http2;  // with kHttp2
  std::vector<UpstreamEndpoint> endpoints;
  WeightedPicker picker;  // over endpoint weights
  std::chrono::milliseconds connect_timeout{5000};
};

struct WeightedClusterRef {
  const ClusterConfig* cluster = nullptr;
  uint32_t weight = 1;
};

enum class PathMatchKind { kPrefix, kExact, kRegex, kSeparatedPrefix };

struct RouteEntry {
  std::string name;
  PathMatchKind path_kind = PathMatchKind::kPrefix;
  std::string path;
  std::unique_ptr<RE2> path_regex;
  bool case_sensitive = true;

  // Exactly one of these two: forward to clusters, or answer directly.
  std::vector<WeightedClusterRef> clusters;
  WeightedPicker picker;  // over cluster weights
  std::optional<std::pair<unsigned, std::string>> direct_response;

  std::string prefix_rewrite;
  bool has_prefix_rewrite = false;
  // Zero means no deadline.
  std::chrono::milliseconds timeout{15000};
  // Set: a gRPC request's grpc-timeout sets its deadline, capped here (0: no cap).
  std::optional<std::chrono::milliseconds> max_grpc_timeout;
  std::chrono::milliseconds grpc_timeout_offset{0};
  // Set: overrides the chain's stream_idle_timeout (0: none).
  std::optional<std::chrono::milliseconds> idle_timeout;

  bool matchesPath(std::string_view path_without_query) const;
};

struct VirtualHostConfig {
  std::string name;
  std::vector<std::string> exact_domains;   // lower-case, port stripped
  std::vector<std::string> suffix_domains;  // "*.example.com" stored as ".example.com"
  std::vector<std::string> prefix_domains;  // "foo.*" stored as "foo."
  bool matches_any = false;                 // "*"
  std::vector<RouteEntry> routes;
};

class RouteTable {
 public:
  std::string name;
  std::vector<VirtualHostConfig> virtual_hosts;

  // The virtual host for a Host/:authority value: exact domains first, then the
  // longest suffix wildcard, then the longest prefix wildcard, then "*".
  const VirtualHostConfig* findVirtualHost(std::string_view authority) const;

  // The first route of `host` whose match accepts the request target.
  static const RouteEntry* findRoute(const VirtualHostConfig& host, std::string_view target);
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

struct HttpChainConfig {
  const RouteTable* routes = nullptr;
  HttpListenerLimits limits;
  Http2Settings http2;  // for HTTP/2 (h2c) connections on this chain
  // Upgrade protocols tunnelled (lower-case names, e.g. "websocket").
  std::vector<std::string> upgrade_types;
};

struct TcpChainConfig {
  std::vector<WeightedClusterRef> clusters;
  WeightedPicker picker;
  std::chrono::milliseconds idle_timeout{3'600'000};  // 0: none
};

struct FilterChainConfig {
  std::string name;
  FilterChainMatchConfig match;
  // Exactly one of the two.
  std::optional<HttpChainConfig> http;
  std::optional<TcpChainConfig> tcp;
};

struct DetectionConfig {
  bool disabled = false;
  std::chrono::milliseconds timeout{100};
  std::vector<uint16_t> opaque_ports;
};

struct ListenerConfig {
  std::string name;
  boost::asio::ip::tcp::endpoint address;
  bool transparent = false;
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

  weft::v1::Bootstrap source;  // kept for the admin config dump
  std::vector<ListenerConfig> listeners;
  // unique_ptr keeps addresses stable for the pointers held above.
  std::unordered_map<std::string, std::unique_ptr<ClusterConfig>> clusters;
  std::unordered_map<std::string, std::unique_ptr<RouteTable>> route_tables;
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

}  // namespace weft::proxy
