#include "cli/proxy_metrics_source.h"

#include <thread>

#include "cli/http_client.h"

namespace weft::cli {

std::string scrapeProxyMetrics(const std::string& address, std::vector<MetricSample>& samples) {
  HttpGetOptions options;
  options.peer = "the proxy";
  options.connect_hint = "give its status port (15020) or its admin port";
  // Generous, for proxies with many series, but bounded.
  options.body_limit = 256 * 1024 * 1024;
  HttpResponse response;
  std::string path = "/metrics";
  if (std::string error = httpGet(address, path, response, options); !error.empty()) {
    return error;
  }
  if (response.status == 404) {  // the admin port: the same text under another path
    path = "/stats/prometheus";
    if (std::string error = httpGet(address, path, response, options); !error.empty()) {
      return error;
    }
  }
  if (response.status != 200) {
    return address + " answered " + std::to_string(response.status) +
           " to GET /metrics and /stats/prometheus; is it a weft-proxy status or admin port?";
  }
  samples.clear();
  const std::string error = parsePrometheusText(response.body, samples, [](std::string_view name) {
    return name == kRequestsMetric || name == kLatencyBucketMetric;
  });
  if (!error.empty()) {
    return "the metrics of " + address + path + " are not in the Prometheus text format: " + error;
  }
  return {};
}

std::string sampleProxies(const std::vector<std::string>& addresses,
                          std::chrono::milliseconds window, TrafficWindow& traffic,
                          std::ostream& progress) {
  std::vector<std::vector<MetricSample>> before(addresses.size());
  const auto first = std::chrono::steady_clock::now();
  for (size_t i = 0; i < addresses.size(); ++i) {
    if (std::string error = scrapeProxyMetrics(addresses[i], before[i]); !error.empty()) {
      return error;
    }
  }
  progress << "Sampling " << addresses.size() << (addresses.size() == 1 ? " proxy" : " proxies")
           << " for " << std::chrono::duration<double>(window).count() << "s..." << std::endl;
  std::this_thread::sleep_until(first + window);
  const auto second = std::chrono::steady_clock::now();
  traffic = {};
  traffic.seconds = std::chrono::duration<double>(second - first).count();
  for (size_t i = 0; i < addresses.size(); ++i) {
    std::vector<MetricSample> after;
    if (std::string error = scrapeProxyMetrics(addresses[i], after); !error.empty()) {
      return error;
    }
    addScrapeDifference(before[i], after, traffic);
  }
  return {};
}

}  // namespace weft::cli
