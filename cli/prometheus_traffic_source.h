#pragma once

#include <chrono>
#include <string>

#include "cli/golden_stats.h"
#include "cli/prometheus_query_client.h"

namespace weft::cli {

// `weftctl stat --prometheus <url>`: the traffic of the last `window` as Prometheus recorded
// it, with two queries: increase() of weft_requests_total and of the
// weft_request_duration_seconds buckets, summed by the labels stat groups by. Filtering and
// the quantiles are computed here, as for proxies read directly, so both sources agree.

// The two queries, for a window (a whole number of milliseconds).
std::string requestCountsQuery(std::chrono::milliseconds window);
std::string latencyBucketsQuery(std::chrono::milliseconds window);

// Runs both and fills `traffic`. Returns an empty string or the error.
std::string fetchPrometheusTraffic(const PrometheusServer& server, std::chrono::milliseconds window,
                                   TrafficWindow& traffic);

}  // namespace weft::cli
