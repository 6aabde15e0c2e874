#pragma once

#include <chrono>
#include <ostream>
#include <string>
#include <vector>

#include "cli/golden_stats.h"

namespace weft::cli {

// `weftctl stat --proxy <host:port>...`: the traffic of a window read straight from the
// proxies, without Prometheus. Each proxy's metrics are scraped twice, `window` apart, from
// its status port (GET /metrics) or, if that path is not there, its admin port
// (GET /stats/prometheus); the counts are the differences (addScrapeDifference).

// Scrapes one proxy's metrics, keeping only the families stat reads. Returns an empty string
// or the error.
std::string scrapeProxyMetrics(const std::string& address, std::vector<MetricSample>& samples);

// Scrapes every proxy, waits `window`, scrapes them again and fills `traffic` with the
// differences; `window.seconds` is the time measured between the two rounds. Says on
// `progress` that it waits. Returns an empty string or the first error.
std::string sampleProxies(const std::vector<std::string>& addresses,
                          std::chrono::milliseconds window, TrafficWindow& traffic,
                          std::ostream& progress);

}  // namespace weft::cli
