#pragma once

#include <optional>
#include <string>

#include "proxy/access_log/access_log_file.h"
#include "proxy/admin/certificate_status.h"
#include "proxy/admin/cluster_status.h"
#include "proxy/stats/security_counters.h"
#include "proxy/stats/traffic_counters.h"

namespace weft::proxy::admin {

// What /stats/prometheus shows, gathered through AdminCallbacks at scrape time. A part the
// process does not provide is absent, and so are its metrics.
struct ProxyMetrics {
  std::optional<SecurityCounterValues> security;
  // Only with dynamic_resources.ca.
  std::optional<CertificateStatus> certificate;
  std::optional<TrafficCounterValues> traffic;
  // Every access log destination open now.
  std::vector<AccessLogFile::Counts> access_logs;
  // Every cluster's connection-pool state.
  std::vector<ClusterPoolGauges> clusters;
};

// `metrics` in the Prometheus text exposition format 0.0.4, each family with # HELP and # TYPE
// (the names are listed in docs/operations.md):
//   weft_proxy_tls_handshake_failures_total 0
//   ...
//   weft_proxy_certificate_state{state="VALID"} 1
//   weft_proxy_certificate_expiry_timestamp_seconds 1795852800
std::string renderPrometheusStats(const ProxyMetrics& metrics);

}  // namespace weft::proxy::admin
