#include "cli/stat_command.h"

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "cli/prometheus_traffic_source.h"
#include "cli/proxy_metrics_source.h"
#include "cli/text_table.h"

namespace weft::cli {

namespace json = boost::json;

namespace {

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

std::string percent(double ratio) {
  return std::isnan(ratio) ? "-" : format("%.2f%%", ratio * 100);
}

std::string milliseconds(double seconds) {
  if (!std::isfinite(seconds)) {
    return "-";
  }
  const double ms = seconds * 1000;
  const char* pattern = ms >= 100 ? "%.0fms" : ms >= 10 ? "%.1fms" : ms >= 1 ? "%.2fms" : "%.3fms";
  return format(pattern, ms);
}

std::vector<std::string> signalCells(const GoldenSignals& signals) {
  return {percent(signals.success_rate),
          std::isfinite(signals.requests_per_second) ? format("%.2f", signals.requests_per_second)
                                                     : "-",
          milliseconds(signals.latency_p50), milliseconds(signals.latency_p95),
          milliseconds(signals.latency_p99)};
}

std::vector<std::string> header(std::vector<std::string> first) {
  for (const char* column : {"SUCCESS", "RPS", "LATENCY_P50", "LATENCY_P95", "LATENCY_P99"}) {
    first.emplace_back(column);
  }
  return first;
}

// JSON by hand, for numbers as people write them: Boost.JSON writes 0.7 as 7E-1.
std::string jsonNumber(double value) {
  if (!std::isfinite(value)) {
    return "null";
  }
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

std::string jsonString(std::string_view text) {
  return json::serialize(json::value(json::string_view(text)));
}

std::string jsonSignals(MeasuredBy measured_by, const GoldenSignals& signals) {
  return std::string("\"measured_by\":") +
         (measured_by == MeasuredBy::kCallers ? "\"callers\"" : "\"server\"") +
         ",\"requests\":" + jsonNumber(signals.requests) +
         ",\"requests_per_second\":" + jsonNumber(signals.requests_per_second) +
         ",\"success_rate\":" + jsonNumber(signals.success_rate) +
         ",\"latency_seconds\":{\"p50\":" + jsonNumber(signals.latency_p50) +
         ",\"p95\":" + jsonNumber(signals.latency_p95) +
         ",\"p99\":" + jsonNumber(signals.latency_p99) + "}";
}

std::string describe(const StatFilter& filter) {
  switch (filter.kind) {
    case StatFilter::Kind::kNamespace:
      return " in namespace " + filter.name;
    case StatFilter::Kind::kService:
      return " named " + filter.name;
    case StatFilter::Kind::kAll:
      break;
  }
  return "";
}

}  // namespace

std::string parseWindow(std::string_view text, std::chrono::milliseconds& window) {
  const std::string error =
      "\"" + std::string(text) + "\" is not a duration such as 500ms, 5s, 1m, 1m30s or 1h";
  if (text.empty()) {
    return error;
  }
  int64_t total = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    int64_t amount = 0;
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), amount);
    if (ec != std::errc() || end == rest.data() || amount < 0 || amount > 1'000'000'000) {
      return error;
    }
    rest.remove_prefix(end - rest.data());
    int64_t unit = 0;
    if (rest.starts_with("ms")) {
      unit = 1;
      rest.remove_prefix(2);
    } else if (rest.starts_with("s")) {
      unit = 1000;
    } else if (rest.starts_with("m")) {
      unit = 60'000;
    } else if (rest.starts_with("h")) {
      unit = 3'600'000;
    } else {
      return error;
    }
    if (unit != 1) {
      rest.remove_prefix(1);
    }
    total += amount * unit;
    if (total > int64_t{7} * 24 * 3'600'000) {
      return "\"" + std::string(text) + "\" is longer than a week";
    }
  }
  if (total == 0) {
    return "the window must be longer than 0";
  }
  window = std::chrono::milliseconds(total);
  return {};
}

std::string renderStatTable(const GoldenStats& stats, const StatFilter& filter) {
  const std::string window = format("%g", stats.window_seconds) + "s";
  if (stats.services.empty()) {
    return "No service" + describe(filter) + " has request metrics (window " + window + ").\n";
  }
  bool server_measured = false;
  TextTable services(header({"NAMESPACE", "SERVICE"}));
  for (const ServiceStats& service : stats.services) {
    std::vector<std::string> row = {service.service_namespace, service.service};
    if (service.measured_by == MeasuredBy::kServer) {
      row[1] += " *";
      server_measured = true;
    }
    for (std::string& cell : signalCells(service.signals)) {
      row.push_back(std::move(cell));
    }
    services.add(std::move(row));
  }
  std::string out = services.render();
  if (stats.edges.empty()) {
    out += "\nNo requests between workloads and services in the window (" + window + ").\n";
  } else {
    TextTable edges(header({"FROM", "TO"}));
    for (const EdgeStats& edge : stats.edges) {
      std::vector<std::string> row = {edge.source_namespace + "/" + edge.source_workload,
                                      edge.service};
      for (std::string& cell : signalCells(edge.signals)) {
        row.push_back(std::move(cell));
      }
      edges.add(std::move(row));
    }
    out += "\n" + edges.render();
  }
  if (server_measured) {
    out +=
        "\n* measured by the service's own proxies (inbound): none of its callers in the "
        "window has a sidecar.\n";
  }
  return out;
}

std::string renderStatJson(const GoldenStats& stats) {
  std::string out = "{\"window_seconds\":" + jsonNumber(stats.window_seconds) + ",\"services\":[";
  for (size_t i = 0; i < stats.services.size(); ++i) {
    const ServiceStats& service = stats.services[i];
    out += (i ? ",\n" : "\n") + std::string("{\"namespace\":") +
           jsonString(service.service_namespace) + ",\"service\":" + jsonString(service.service) +
           "," + jsonSignals(service.measured_by, service.signals) + "}";
  }
  out += "],\"edges\":[";
  for (size_t i = 0; i < stats.edges.size(); ++i) {
    const EdgeStats& edge = stats.edges[i];
    out += (i ? ",\n" : "\n") + std::string("{\"source_namespace\":") +
           jsonString(edge.source_namespace) +
           ",\"source_workload\":" + jsonString(edge.source_workload) +
           ",\"service\":" + jsonString(edge.service) +
           ",\"service_namespace\":" + jsonString(edge.service_namespace) + "," +
           jsonSignals(edge.measured_by, edge.signals) + "}";
  }
  return out + "]}\n";
}

int runStat(const StatOptions& options, std::ostream& out, std::ostream& err) {
  StatFilter filter;
  if (std::string error = parseStatFilter(options.filter, filter); !error.empty()) {
    err << "weftctl: " << error << "\n";
    return 2;
  }
  if (options.output != "table" && options.output != "json") {
    err << "weftctl: -o must be table or json\n";
    return 2;
  }
  if (options.proxies.empty() == options.prometheus.empty()) {
    err << "weftctl: stat reads either Prometheus (--prometheus http://host:9090) or proxies "
           "(--proxy host:port, repeatable, their status or admin port); give one of them\n";
    return 2;
  }
  const bool from_proxies = !options.proxies.empty();
  std::chrono::milliseconds window{};
  const std::string window_text =
      !options.window.empty() ? options.window : (from_proxies ? "5s" : "1m");
  if (std::string error = parseWindow(window_text, window); !error.empty()) {
    err << "weftctl: --window: " << error << "\n";
    return 2;
  }
  TrafficWindow traffic;
  std::string error;
  if (from_proxies) {
    error = sampleProxies(options.proxies, window, traffic, err);
  } else {
    PrometheusServer server;
    error = parsePrometheusUrl(options.prometheus, server);
    if (!error.empty()) {
      err << "weftctl: --prometheus: " << error << "\n";
      return 2;
    }
    error = fetchPrometheusTraffic(server, window, traffic);
  }
  if (!error.empty()) {
    err << "weftctl: " << error << "\n";
    return 1;
  }
  const GoldenStats stats = computeGoldenStats(traffic, filter);
  out << (options.output == "json" ? renderStatJson(stats) : renderStatTable(stats, filter));
  return 0;
}

}  // namespace weft::cli
