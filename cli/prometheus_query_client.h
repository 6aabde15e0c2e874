#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "cli/prometheus_text_parser.h"

namespace weft::cli {

// A Prometheus server's HTTP API, from a URL such as "http://prometheus.monitoring:9090" or
// "http://127.0.0.1:9090/prometheus" (a server under a path prefix). Plaintext HTTP only.
struct PrometheusServer {
  std::string address;  // host:port
  std::string path_prefix;
};

// Returns an empty string or why `url` is not a usable Prometheus address.
std::string parsePrometheusUrl(std::string_view url, PrometheusServer& server);

// Reads the answer of GET /api/v1/query: an instant vector, as samples without a name (the
// series' labels and value). Returns an empty string or the error (Prometheus's own message
// for a refused query).
std::string parseInstantVector(std::string_view json, std::vector<MetricSample>& samples);

// Runs `promql` at the current time (GET /api/v1/query). Returns an empty string and the
// result, or the error.
std::string queryPrometheus(const PrometheusServer& server, std::string_view promql,
                            std::vector<MetricSample>& samples,
                            std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace weft::cli
