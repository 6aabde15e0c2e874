#include "cli/golden_stats.h"

#include <cmath>
#include <map>
#include <tuple>

#include "cli/histogram_quantile.h"

namespace weft::cli {

namespace {

// "unspecified" (a listener without a direction) is counted as outbound is.
bool isInbound(const TrafficKey& key) {
  return key.direction == "inbound";
}

bool isKnownNamespace(std::string_view name) {
  return !name.empty() && name != "unknown" && name != "overflow";
}

// The namespace in a Kubernetes service name, <name>.<namespace>.svc[.<domain>], or "".
std::string namespaceOfServiceName(std::string_view service) {
  const size_t first = service.find('.');
  if (first == std::string_view::npos) {
    return {};
  }
  const size_t second = service.find('.', first + 1);
  if (second == std::string_view::npos || service.substr(second + 1, 3) != "svc" ||
      (service.size() > second + 4 && service[second + 4] != '.')) {
    return {};
  }
  return std::string(service.substr(first + 1, second - first - 1));
}

bool serviceMatches(std::string_view service, std::string_view name) {
  return service == name ||
         (service.size() > name.size() && service.starts_with(name) && service[name.size()] == '.');
}

// The counts of one service or edge, then its signals.
struct Tally {
  double requests = 0;
  double successes = 0;
  std::map<double, double> buckets;  // upper bound -> count

  GoldenSignals signals(double seconds) const {
    GoldenSignals out;
    out.requests = requests;
    out.requests_per_second = seconds > 0 ? requests / seconds : GoldenSignals::kNone;
    if (requests > 0) {
      out.success_rate = successes / requests;
      std::vector<HistogramBucket> histogram;
      for (const auto& [bound, count] : buckets) {
        histogram.push_back({bound, count});
      }
      out.latency_p50 = histogramQuantile(0.5, histogram);
      out.latency_p95 = histogramQuantile(0.95, histogram);
      out.latency_p99 = histogramQuantile(0.99, histogram);
    }
    return out;
  }
};

// What is known of a service before choosing the series that measure it.
struct ServiceTraffic {
  double outbound = 0;
  double inbound = 0;
  bool has_outbound = false;
  MeasuredBy measured_by = MeasuredBy::kCallers;
  std::map<std::string, double> namespaces;  // destination_namespace -> requests
  std::string service_namespace;
  bool selected = false;
  Tally tally;

  bool measures(const TrafficKey& key) const {
    return isInbound(key) == (measured_by == MeasuredBy::kServer);
  }
};

using EdgeKey = std::tuple<std::string, std::string, std::string>;  // service, ns, workload

}  // namespace

TrafficKey trafficKeyOf(const Labels& labels) {
  return {std::string(labelValue(labels, "direction")),
          std::string(labelValue(labels, "source_workload")),
          std::string(labelValue(labels, "source_namespace")),
          std::string(labelValue(labels, "destination_service")),
          std::string(labelValue(labels, "destination_namespace"))};
}

void addScrapeDifference(const std::vector<MetricSample>& before,
                         const std::vector<MetricSample>& after, TrafficWindow& window) {
  std::map<std::pair<std::string_view, const Labels*>, double,
           decltype([](const auto& a, const auto& b) {
             return std::tie(a.first, *a.second) < std::tie(b.first, *b.second);
           })>
      earlier;
  for (const MetricSample& sample : before) {
    earlier.emplace(std::make_pair(std::string_view(sample.name), &sample.labels), sample.value);
  }
  for (const MetricSample& sample : after) {
    const bool requests = sample.name == kRequestsMetric;
    if (!requests && sample.name != kLatencyBucketMetric) {
      continue;
    }
    if (!std::isfinite(sample.value) || sample.value < 0) {
      continue;
    }
    double count = sample.value;
    if (auto found = earlier.find({sample.name, &sample.labels}); found != earlier.end()) {
      if (std::isfinite(found->second) && found->second >= 0 && found->second <= sample.value) {
        count -= found->second;
      }
    }
    if (requests) {
      window.requests.push_back({trafficKeyOf(sample.labels),
                                 std::string(labelValue(sample.labels, "response_code")),
                                 std::string(labelValue(sample.labels, "grpc_status")), count});
      continue;
    }
    double bound = 0;
    if (!parseSampleValue(labelValue(sample.labels, "le"), bound)) {
      continue;  // as histogram_quantile() ignores a bucket without a readable le
    }
    window.latency_buckets.push_back({trafficKeyOf(sample.labels), bound, count});
  }
}

bool isSuccess(std::string_view response_code, std::string_view grpc_status) {
  if (response_code == "0") {
    return false;
  }
  if (response_code.size() == 3 && response_code.front() == '5') {
    return false;
  }
  return grpc_status.empty() || grpc_status == "0";
}

std::string parseStatFilter(std::string_view argument, StatFilter& filter) {
  filter = {};
  if (argument.empty()) {
    return {};
  }
  std::string_view name = argument;
  StatFilter::Kind kind = argument.find('.') == std::string_view::npos
                              ? StatFilter::Kind::kNamespace
                              : StatFilter::Kind::kService;
  if (const size_t slash = argument.find('/'); slash != std::string_view::npos) {
    const std::string_view type = argument.substr(0, slash);
    name = argument.substr(slash + 1);
    if (type == "ns" || type == "namespace") {
      kind = StatFilter::Kind::kNamespace;
    } else if (type == "svc" || type == "service") {
      kind = StatFilter::Kind::kService;
    } else {
      return "\"" + std::string(argument) +
             "\": use a namespace (shop, ns/shop) or a service (reviews.shop, svc/reviews)";
    }
  }
  if (name.empty()) {
    return "\"" + std::string(argument) + "\" names no namespace or service";
  }
  if (kind == StatFilter::Kind::kNamespace && name.find('.') != std::string_view::npos) {
    return "\"" + std::string(name) + "\" is not a namespace name (it has a dot)";
  }
  filter.kind = kind;
  filter.name = std::string(name);
  return {};
}

GoldenStats computeGoldenStats(const TrafficWindow& window, const StatFilter& filter) {
  // 1. Per service: which direction measures it. Callers' sidecars see everything a caller
  // went through (connect failures, timeouts, retries); the service's own sidecars are used
  // only for a service no meshed caller reached, so meshed calls are never counted twice.
  std::map<std::string, ServiceTraffic> services;
  for (const RequestCount& request : window.requests) {
    ServiceTraffic& service = services[request.key.destination_service];
    if (isInbound(request.key)) {
      service.inbound += request.count;
    } else {
      service.outbound += request.count;
      service.has_outbound = true;
    }
  }
  for (auto& [name, service] : services) {
    if (service.outbound == 0 && (service.inbound > 0 || !service.has_outbound)) {
      service.measured_by = MeasuredBy::kServer;
    }
  }
  // 2. Its namespace: the one of the endpoints that answered most of its calls, else the one
  // in its name.
  for (const RequestCount& request : window.requests) {
    ServiceTraffic& service = services[request.key.destination_service];
    if (service.measures(request.key) && isKnownNamespace(request.key.destination_namespace)) {
      service.namespaces[request.key.destination_namespace] += request.count;
    }
  }
  for (auto& [name, service] : services) {
    double most = -1;
    for (const auto& [ns, count] : service.namespaces) {
      if (count > most) {  // ties: the first name in order
        most = count;
        service.service_namespace = ns;
      }
    }
    if (service.service_namespace.empty()) {
      service.service_namespace = namespaceOfServiceName(name);
    }
    if (service.service_namespace.empty()) {
      service.service_namespace = "unknown";
    }
    switch (filter.kind) {
      case StatFilter::Kind::kAll:
        service.selected = true;
        break;
      case StatFilter::Kind::kNamespace:
        service.selected = service.service_namespace == filter.name;
        break;
      case StatFilter::Kind::kService:
        service.selected = serviceMatches(name, filter.name);
        break;
    }
  }
  // 3. The counts of each service and edge, from the series that measure the service.
  std::map<EdgeKey, Tally> edges;
  auto edgeSelected = [&](const TrafficKey& key, const ServiceTraffic& service) {
    return service.selected ||
           (filter.kind == StatFilter::Kind::kNamespace && key.source_namespace == filter.name);
  };
  for (const RequestCount& request : window.requests) {
    ServiceTraffic& service = services[request.key.destination_service];
    if (!service.measures(request.key)) {
      continue;
    }
    const double successes =
        isSuccess(request.response_code, request.grpc_status) ? request.count : 0;
    service.tally.requests += request.count;
    service.tally.successes += successes;
    if (edgeSelected(request.key, service)) {
      Tally& edge = edges[{request.key.destination_service, request.key.source_namespace,
                           request.key.source_workload}];
      edge.requests += request.count;
      edge.successes += successes;
    }
  }
  for (const LatencyBucketCount& bucket : window.latency_buckets) {
    auto found = services.find(bucket.key.destination_service);
    if (found == services.end() || !found->second.measures(bucket.key)) {
      continue;  // a histogram without counted requests: nothing to show it against
    }
    found->second.tally.buckets[bucket.upper_bound] += bucket.count;
    if (edgeSelected(bucket.key, found->second)) {
      auto edge = edges.find({bucket.key.destination_service, bucket.key.source_namespace,
                              bucket.key.source_workload});
      if (edge != edges.end()) {
        edge->second.buckets[bucket.upper_bound] += bucket.count;
      }
    }
  }
  // 4. The signals, in a stable order.
  GoldenStats stats;
  stats.window_seconds = window.seconds;
  for (const auto& [name, service] : services) {
    if (service.selected) {
      stats.services.push_back({name, service.service_namespace, service.measured_by,
                                service.tally.signals(window.seconds)});
    }
  }
  std::stable_sort(stats.services.begin(), stats.services.end(),
                   [](const ServiceStats& a, const ServiceStats& b) {
                     return std::tie(a.service_namespace, a.service) <
                            std::tie(b.service_namespace, b.service);
                   });
  for (const auto& [key, tally] : edges) {
    if (tally.requests <= 0) {
      continue;
    }
    const auto& [service_name, source_namespace, source_workload] = key;
    const ServiceTraffic& service = services.at(service_name);
    stats.edges.push_back({source_namespace, source_workload, service_name,
                           service.service_namespace, service.measured_by,
                           tally.signals(window.seconds)});
  }
  return stats;
}

}  // namespace weft::cli
