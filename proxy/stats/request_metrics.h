#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace weft::proxy {

// The golden metrics: requests, their duration and bytes, and TCP connections, labelled with
// who called whom. Recording is per worker and lock-free (RequestMetricsShard); a scrape asks
// every worker to move its counts into the process-wide RequestMetricsRegistry, which renders
// them. Label strings never appear on the request path: each side of an exchange is a small id
// in MetricLabelTable, resolved when config is built (or once per mTLS peer), and a request's
// series is a 64-bit key made of those ids and its outcome.

// One side's labels: workload and namespace, and (for a destination) the service.
struct MetricPeer {
  std::string workload;
  std::string namespace_name;
  std::string service;
};

// Process-wide table of MetricPeer values, each interned once to an id. Its size bounds the
// metrics' cardinality: past kMaxEntries, new peers share the "overflow" entry (and the log
// says so once), so no label value can grow the series without bound.
class MetricLabelTable {
 public:
  static constexpr uint32_t kMaxEntries = 16'384;
  static constexpr uint32_t kUnknown = 0;   // workload, namespace and service "unknown"
  static constexpr uint32_t kOverflow = 1;  // every value "overflow"

  MetricLabelTable();
  static MetricLabelTable& global();

  // The id of these values; empty values read "unknown". Takes a lock: call it when building
  // config or once per connection, never per request.
  uint32_t intern(std::string_view workload, std::string_view namespace_name,
                  std::string_view service);
  MetricPeer peer(uint32_t id) const;
  size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, uint32_t> ids_;
  std::vector<MetricPeer> peers_;
};

// Which way a request went through the proxy, as the listener says (ListenerConfig::direction).
enum class TrafficDirection : uint8_t { kUnspecified = 0, kInbound = 1, kOutbound = 2 };
std::string_view directionName(TrafficDirection direction);

// What identifies one series of the request metrics.
struct RequestSeries {
  TrafficDirection direction = TrafficDirection::kUnspecified;
  uint32_t source = MetricLabelTable::kUnknown;       // MetricLabelTable id
  uint32_t destination = MetricLabelTable::kUnknown;  // MetricLabelTable id
  uint16_t response_code = 0;  // the status the client got; 0: none (it left first)
  int8_t grpc_status = -1;     // -1: not a gRPC response
  uint8_t response_flag = 0;   // 0: none; else an index into the registry's flag names

  // Packs the series into one integer: direction 2 bits, ids 16 bits each, code 10, gRPC 6,
  // flag 8. Out-of-range values are clamped (a code above 999 to 999).
  uint64_t key() const;
  static RequestSeries fromKey(uint64_t key);
};

// The series of a TCP connection (opaque TCP proxying): no response code or flag.
struct TcpSeries {
  TrafficDirection direction = TrafficDirection::kUnspecified;
  uint32_t source = MetricLabelTable::kUnknown;
  uint32_t destination = MetricLabelTable::kUnknown;
  uint64_t key() const { return RequestSeries{direction, source, destination, 0, -1, 0}.key(); }
};

class RequestMetricsRegistry;

// One worker's request and connection counts since the last flush. Touched by its worker's
// thread only: no atomics, no locks. A series' slot is made on its first request and kept, so
// the steady state allocates nothing.
class RequestMetricsShard {
 public:
  // Upper bounds of the duration histogram, in seconds, ascending (the registry's).
  void setBuckets(std::span<const double> bounds_seconds);
  // Off: every record call returns at once (StatsConfig.disable_request_metrics).
  void setEnabled(bool enabled) { enabled_ = enabled; }

  void recordRequest(uint64_t series_key, std::chrono::nanoseconds duration, uint64_t request_bytes,
                     uint64_t response_bytes);
  void recordTcpOpened(uint64_t series_key);
  void recordTcpClosed(uint64_t series_key, uint64_t received_bytes, uint64_t sent_bytes);

  // Adds what was counted since the last flush to `registry` and starts again from zero.
  void flushInto(RequestMetricsRegistry& registry);

 private:
  friend class RequestMetricsRegistry;
  struct RequestSlot {
    uint64_t count = 0;
    uint64_t request_bytes = 0;
    uint64_t response_bytes = 0;
    uint64_t duration_ns = 0;
    std::vector<uint64_t> buckets;  // per bucket; the last for durations above every bound
  };
  struct TcpSlot {
    uint64_t opened = 0;
    uint64_t closed = 0;
    uint64_t received_bytes = 0;
    uint64_t sent_bytes = 0;
  };

  std::vector<int64_t> bounds_ns_;
  std::unordered_map<uint64_t, RequestSlot> requests_;
  std::unordered_map<uint64_t, TcpSlot> tcp_;
  bool dirty_ = false;
  bool enabled_ = true;
};

// The process's request metrics, as scrapes see them: the sum of every flush so far.
class RequestMetricsRegistry {
 public:
  // The default buckets: 100 us to 60 s.
  static std::vector<double> defaultBuckets();

  // `flag_names[i]`: the response_flags label of flag i (0: none, shown as "-").
  RequestMetricsRegistry(std::vector<double> bounds_seconds, std::vector<std::string> flag_names);

  const std::vector<double>& buckets() const { return bounds_; }

  // Appends the families in the Prometheus text format: weft_requests_total,
  // weft_request_duration_seconds, weft_request_bytes_total, weft_response_bytes_total, and
  // the weft_tcp_* families. A family with no series yet is still described (HELP and TYPE).
  void render(std::string& out) const;

 private:
  friend class RequestMetricsShard;
  void add(const RequestMetricsShard& shard);

  const std::vector<double> bounds_;
  const std::vector<std::string> flag_names_;
  mutable std::mutex mutex_;
  std::unordered_map<uint64_t, RequestMetricsShard::RequestSlot> requests_;
  std::unordered_map<uint64_t, RequestMetricsShard::TcpSlot> tcp_;
};

}  // namespace weft::proxy
