#pragma once

#include <chrono>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/golden_stats.h"

namespace weft::cli {

// `weftctl stat [namespace|service]`: the golden signals of services and of the edges between
// workloads and services, read from Prometheus (--prometheus <url>) or straight from proxies
// (--proxy <host:port>, repeatable). docs/observability.md ("weftctl stat").

struct StatOptions {
  std::string filter;                // the positional argument; empty: everything
  std::vector<std::string> proxies;  // status or admin addresses (host:port)
  std::string prometheus;            // the server's URL
  std::string window;                // empty: 5s from proxies, 1m from Prometheus
  std::string output = "table";      // table or json
};

// A duration as Prometheus writes one: "500ms", "5s", "1m", "1m30s", "1h". Returns an empty
// string or the error.
std::string parseWindow(std::string_view text, std::chrono::milliseconds& window);

// Two tables: services, then edges (only those with requests).
std::string renderStatTable(const GoldenStats& stats, const StatFilter& filter);

// One JSON document: {"window_seconds", "services": [...], "edges": [...]}; a success rate or
// latency that cannot be known (no requests) is null.
std::string renderStatJson(const GoldenStats& stats);

int runStat(const StatOptions& options, std::ostream& out, std::ostream& err);

}  // namespace weft::cli
