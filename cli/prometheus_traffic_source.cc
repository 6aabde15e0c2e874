#include "cli/prometheus_traffic_source.h"

#include <cmath>

namespace weft::cli {

namespace {

constexpr std::string_view kGroupLabels =
    "direction, source_workload, source_namespace, destination_service, destination_namespace";

std::string promqlDuration(std::chrono::milliseconds window) {
  const auto milliseconds = window.count();
  return milliseconds % 1000 == 0 ? std::to_string(milliseconds / 1000) + "s"
                                  : std::to_string(milliseconds) + "ms";
}

}  // namespace

std::string requestCountsQuery(std::chrono::milliseconds window) {
  return "sum by (" + std::string(kGroupLabels) + ", response_code, grpc_status) (increase(" +
         std::string(kRequestsMetric) + "[" + promqlDuration(window) + "]))";
}

std::string latencyBucketsQuery(std::chrono::milliseconds window) {
  return "sum by (" + std::string(kGroupLabels) + ", le) (increase(" +
         std::string(kLatencyBucketMetric) + "[" + promqlDuration(window) + "]))";
}

std::string fetchPrometheusTraffic(const PrometheusServer& server, std::chrono::milliseconds window,
                                   TrafficWindow& traffic) {
  traffic = {};
  traffic.seconds = std::chrono::duration<double>(window).count();
  std::vector<MetricSample> samples;
  if (std::string error = queryPrometheus(server, requestCountsQuery(window), samples);
      !error.empty()) {
    return error;
  }
  for (const MetricSample& sample : samples) {
    if (std::isfinite(sample.value) && sample.value >= 0) {
      traffic.requests.push_back(
          {trafficKeyOf(sample.labels), std::string(labelValue(sample.labels, "response_code")),
           std::string(labelValue(sample.labels, "grpc_status")), sample.value});
    }
  }
  if (std::string error = queryPrometheus(server, latencyBucketsQuery(window), samples);
      !error.empty()) {
    return error;
  }
  for (const MetricSample& sample : samples) {
    double bound = 0;
    if (std::isfinite(sample.value) && sample.value >= 0 &&
        parseSampleValue(labelValue(sample.labels, "le"), bound)) {
      traffic.latency_buckets.push_back({trafficKeyOf(sample.labels), bound, sample.value});
    }
  }
  return {};
}

}  // namespace weft::cli
