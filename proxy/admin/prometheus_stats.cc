#include "proxy/admin/prometheus_stats.h"

#include <algorithm>
#include <chrono>

#include "proxy/stats/prometheus_text.h"

namespace weft::proxy::admin {
namespace {

struct SecurityCounterFamily {
  std::string_view name;
  std::string_view help;
  uint64_t SecurityCounterValues::*value;
};

// One family per counter, in the order of SecurityCounters.
constexpr SecurityCounterFamily kSecurityCounterFamilies[] = {
    {"weft_proxy_tls_handshake_failures_total",
     "Inbound TLS handshakes that failed: no or a refused client certificate, a TLS version "
     "below the chain's minimum, not TLS at all.",
     &SecurityCounterValues::tls_handshake_failures},
    {"weft_proxy_tls_plaintext_refused_total",
     "Plaintext connections refused by a filter chain whose mTLS mode is STRICT.",
     &SecurityCounterValues::tls_plaintext_refused},
    {"weft_proxy_tls_unavailable_total",
     "Inbound TLS connections refused because the chain's certificate or trust bundle is "
     "missing (e.g. the workload certificate expired and was withdrawn).",
     &SecurityCounterValues::tls_unavailable},
    {"weft_proxy_upstream_tls_failures_total",
     "Upstream TLS handshakes that failed, or whose peer was not the expected mesh identity.",
     &SecurityCounterValues::upstream_tls_failures},
    {"weft_proxy_authz_denied_total", "Requests and connections denied by authorization policies.",
     &SecurityCounterValues::authz_denied},
    {"weft_proxy_authz_audit_matches_total",
     "AUDIT authorization policies that matched a request or connection.",
     &SecurityCounterValues::authz_audit},
    {"weft_proxy_authz_dry_run_differences_total",
     "Requests and connections for which the dry-run policies, had they been enforced, would "
     "have decided otherwise than the enforced ones.",
     &SecurityCounterValues::authz_dry_run},
};

void writeSecurityCounters(const SecurityCounterValues& values, PrometheusTextWriter& out) {
  for (const SecurityCounterFamily& family : kSecurityCounterFamilies) {
    out.beginFamily(family.name, MetricType::kCounter, family.help);
    out.sample(values.*family.value);
  }
}

struct TrafficCounterFamily {
  std::string_view name;
  std::string_view help;
  uint64_t TrafficCounterValues::*value;
};

constexpr TrafficCounterFamily kTrafficCounterFamilies[] = {
    {"weft_proxy_upstream_retries_total",
     "Retries of upstream requests (attempts after the first) made under retry policies.",
     &TrafficCounterValues::retries},
    {"weft_proxy_upstream_retries_budget_refused_total",
     "Retries a retry policy asked for that the cluster's retry budget refused.",
     &TrafficCounterValues::retries_budget_refused},
    {"weft_proxy_fault_delays_total", "Requests delayed by fault injection.",
     &TrafficCounterValues::fault_delays},
    {"weft_proxy_fault_aborts_total", "Requests aborted by fault injection.",
     &TrafficCounterValues::fault_aborts},
    {"weft_proxy_rate_limited_total", "Requests refused by a route's local rate limit.",
     &TrafficCounterValues::rate_limited},
    {"weft_proxy_mirrored_requests_total", "Copies of requests sent to mirror clusters.",
     &TrafficCounterValues::mirrored},
    {"weft_proxy_mirror_dropped_total",
     "Request copies not sent: too many in flight on the worker, no mirror host, or a request "
     "too large to keep.",
     &TrafficCounterValues::mirror_dropped},
    {"weft_proxy_mirror_failures_total",
     "Request copies whose mirror connection, write or response failed (the primary is never "
     "affected).",
     &TrafficCounterValues::mirror_failures},
    {"weft_proxy_health_checks_total", "Active health-check probes completed, all endpoints.",
     &TrafficCounterValues::health_checks},
    {"weft_proxy_health_check_failures_total",
     "Active health-check probes that failed (refused, timed out, or an unexpected status).",
     &TrafficCounterValues::health_check_failures},
    {"weft_proxy_health_check_unhealthy_total",
     "Endpoints that active health checking turned unhealthy (unhealthy_threshold failures in a "
     "row).",
     &TrafficCounterValues::health_check_unhealthy},
    {"weft_proxy_outlier_ejections_total",
     "Endpoints outlier detection ejected (each worker judges its own traffic, so one endpoint "
     "failing on every worker counts once per worker).",
     &TrafficCounterValues::outlier_ejections},
    {"weft_proxy_tracing_spans_exported_total",
     "Spans the collector accepted (a 2xx answer to their batch).",
     &TrafficCounterValues::spans_exported},
    {"weft_proxy_tracing_spans_dropped_total",
     "Spans dropped: the export queue was full (the collector is slow or down) or their batch "
     "failed.",
     &TrafficCounterValues::spans_dropped},
    {"weft_proxy_tracing_export_failures_total",
     "Span batches that could not be delivered (no endpoint, connect or write failure, or a "
     "non-2xx answer).",
     &TrafficCounterValues::span_export_failures},
    {"weft_proxy_tcp_upstream_failures_total",
     "TCP connections closed without reaching an upstream: no healthy endpoint (a REGISTRY_ONLY "
     "sidecar's blackhole cluster has none), every connect attempt failed, or a passthrough "
     "could not connect.",
     &TrafficCounterValues::tcp_upstream_failures},
};

void writeTrafficCounters(const TrafficCounterValues& values, PrometheusTextWriter& out) {
  for (const TrafficCounterFamily& family : kTrafficCounterFamilies) {
    out.beginFamily(family.name, MetricType::kCounter, family.help);
    out.sample(values.*family.value);
  }
}

void writeCertificateMetrics(const CertificateStatus& status, PrometheusTextWriter& out) {
  out.beginFamily("weft_proxy_certificate_state", MetricType::kGauge,
                  "The workload certificate's rotation state, 1 for the current one: "
                  "AWAITING_FIRST, VALID, RENEWING, EXPIRING (renewal still failing past the "
                  "warning point: the certificate expires soon), EXPIRED (withdrawn: mTLS is "
                  "refused).");
  for (std::string_view state : kCertificateStates) {
    out.sample({{"state", state}}, state == status.state ? 1 : 0);
  }
  // A state this list does not know yet is still reported, rather than every state showing 0.
  if (std::find(kCertificateStates.begin(), kCertificateStates.end(), status.state) ==
      kCertificateStates.end()) {
    out.sample({{"state", status.state}}, 1);
  }

  if (status.certificate) {
    out.beginFamily("weft_proxy_certificate_expiry_timestamp_seconds", MetricType::kGauge,
                    "When the workload certificate in use (once EXPIRED: the last one) expires, "
                    "in seconds since the Unix epoch.");
    out.sample(static_cast<int64_t>(status.certificate->not_after.time_since_epoch().count()));
  }

  out.beginFamily("weft_proxy_certificate_issued_total", MetricType::kCounter,
                  "Workload certificates received from the CA since the proxy started.");
  out.sample(status.issued);

  out.beginFamily("weft_proxy_certificate_consecutive_failures", MetricType::kGauge,
                  "Certificate requests that failed since the last certificate arrived (or "
                  "since the start); 0 once one arrives.");
  out.sample(status.consecutive_failures);
}

}  // namespace

std::string renderPrometheusStats(const ProxyMetrics& metrics) {
  std::string text;
  text.reserve(4096);  // about 2.5 KiB today: one allocation per scrape
  PrometheusTextWriter out(text);
  if (metrics.security) {
    writeSecurityCounters(*metrics.security, out);
  }
  if (metrics.traffic) {
    writeTrafficCounters(*metrics.traffic, out);
  }
  if (metrics.certificate) {
    writeCertificateMetrics(*metrics.certificate, out);
  }
  if (!metrics.clusters.empty()) {
    struct PoolFamily {
      const char* name;
      const char* help;
      uint32_t ClusterPoolGauges::*value;
    };
    static constexpr PoolFamily kPoolFamilies[] = {
        {"weft_proxy_upstream_connections",
         "Connections to the cluster's endpoints (HTTP/1.1, or multiplexed HTTP/2), connecting, "
         "in use or idle in a pool.",
         &ClusterPoolGauges::open_connections},
        {"weft_proxy_upstream_pending_requests",
         "Requests waiting for an HTTP/1.1 connection to the cluster (bounded by the circuit "
         "breaker's max_pending_requests).",
         &ClusterPoolGauges::pending_requests},
        {"weft_proxy_upstream_active_requests",
         "Requests in flight to the cluster (bounded by max_requests).",
         &ClusterPoolGauges::active_requests},
        {"weft_proxy_upstream_active_retries",
         "Retries in flight to the cluster (bounded by max_retries).",
         &ClusterPoolGauges::active_retries},
    };
    for (const PoolFamily& family : kPoolFamilies) {
      out.beginFamily(family.name, MetricType::kGauge, family.help);
      for (const ClusterPoolGauges& cluster : metrics.clusters) {
        out.sample({{"cluster", cluster.cluster}}, cluster.*family.value);
      }
    }
  }
  if (!metrics.access_logs.empty()) {
    out.beginFamily("weft_proxy_access_log_lines_total", MetricType::kCounter,
                    "Access log lines written, by destination.");
    for (const AccessLogFile::Counts& log : metrics.access_logs) {
      out.sample({{"path", log.path}}, log.lines_written);
    }
    out.beginFamily("weft_proxy_access_log_dropped_lines_total", MetricType::kCounter,
                    "Access log lines dropped because the writer was behind (a worker's buffer "
                    "was full) or the write failed, by destination.");
    for (const AccessLogFile::Counts& log : metrics.access_logs) {
      out.sample({{"path", log.path}}, log.lines_dropped);
    }
  }
  return text;
}

}  // namespace weft::proxy::admin
