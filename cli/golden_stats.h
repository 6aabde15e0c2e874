#pragma once

#include <compare>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "cli/prometheus_text_parser.h"

namespace weft::cli {

// `weftctl stat`'s model: the golden signals (request rate, success rate, latency quantiles)
// of each service and of each edge (a calling workload -> a service), computed from what the
// proxies counted during a window, whether that comes from two scrapes of their /metrics or
// from Prometheus. docs/observability.md ("weftctl stat") describes the rules.

// The labels of weft_requests_total that stat groups by (docs/observability.md).
struct TrafficKey {
  std::string direction;
  std::string source_workload;
  std::string source_namespace;
  std::string destination_service;
  std::string destination_namespace;

  auto operator<=>(const TrafficKey&) const = default;
};
TrafficKey trafficKeyOf(const Labels& labels);

// The calls of one key that ended with one outcome, counted over the window.
struct RequestCount {
  TrafficKey key;
  std::string response_code;
  std::string grpc_status;
  double count = 0;
};

// The calls of one key that took at most `upper_bound` seconds (a weft_request_duration_seconds
// bucket, cumulative), counted over the window.
struct LatencyBucketCount {
  TrafficKey key;
  double upper_bound = 0;
  double count = 0;
};

// What the mesh counted during `seconds`.
struct TrafficWindow {
  double seconds = 0;
  std::vector<RequestCount> requests;
  std::vector<LatencyBucketCount> latency_buckets;
};

// The metric families stat reads.
inline constexpr std::string_view kRequestsMetric = "weft_requests_total";
inline constexpr std::string_view kLatencyBucketMetric = "weft_request_duration_seconds_bucket";

// Adds to `window` what one proxy counted between two scrapes of its metrics. A series absent
// from `before` counts from zero: the proxy makes a series at its first request. A counter
// lower in `after` than in `before` was reset (the proxy restarted) and counts from zero, as
// PromQL's rate() takes it. Samples that are not finite non-negative numbers are ignored.
void addScrapeDifference(const std::vector<MetricSample>& before,
                         const std::vector<MetricSample>& after, TrafficWindow& window);

// Whether a call succeeded, as Linkerd classifies them: a failure is a 5xx, no response at all
// (response_code 0: the client left or the proxy broke off), or a gRPC status other than OK.
// Everything else, 4xx included, is a success: the service answered as designed.
bool isSuccess(std::string_view response_code, std::string_view grpc_status);

// What `weftctl stat [filter]` shows.
struct StatFilter {
  enum class Kind { kAll, kNamespace, kService };
  Kind kind = Kind::kAll;
  std::string name;
};

// `shop` or `ns/shop` (`namespace/shop`): the services in namespace shop and the edges into or
// out of it. `reviews.shop`, `reviews.shop.svc.cluster.local` or `svc/reviews` (`service/`):
// that service (a name matches itself and the longer names it is a prefix of, label by label)
// and the edges into it. A bare name without a dot is a namespace (a namespace cannot contain
// one). Empty: everything. Returns an empty string or the error.
std::string parseStatFilter(std::string_view argument, StatFilter& filter);

// Where a service's numbers come from.
enum class MeasuredBy {
  kCallers,  // the callers' sidecars (outbound series): what callers experienced
  kServer,   // only the service's own sidecars (inbound series): no caller has a sidecar
};

struct GoldenSignals {
  static constexpr double kNone = std::numeric_limits<double>::quiet_NaN();
  double requests = 0;  // in the window
  double requests_per_second = 0;
  double success_rate = kNone;  // 0..1; NaN without requests
  double latency_p50 = kNone;   // seconds; NaN without requests
  double latency_p95 = kNone;
  double latency_p99 = kNone;
};

struct ServiceStats {
  std::string service;
  std::string service_namespace;
  MeasuredBy measured_by = MeasuredBy::kCallers;
  GoldenSignals signals;
};

struct EdgeStats {
  std::string source_namespace;
  std::string source_workload;
  std::string service;
  std::string service_namespace;
  MeasuredBy measured_by = MeasuredBy::kCallers;
  GoldenSignals signals;
};

struct GoldenStats {
  double window_seconds = 0;
  std::vector<ServiceStats> services;  // by namespace, then name
  std::vector<EdgeStats> edges;        // by service, then source; only edges with requests
};

// The golden signals of every service and edge that `filter` selects.
GoldenStats computeGoldenStats(const TrafficWindow& window, const StatFilter& filter);

}  // namespace weft::cli
