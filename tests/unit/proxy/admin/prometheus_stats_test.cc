// What /stats/prometheus renders from the security counters and the certificate status.
#include "proxy/admin/prometheus_stats.h"

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace weft::proxy::admin {
namespace {

// The exposition read back, strictly enough to catch a malformed line: every sample belongs to
// the family whose # HELP and # TYPE lines came just before it (a counter's samples carry its
// name, which ends in _total), and no family appears twice.
struct Exposition {
  std::map<std::string, std::string> types;    // family -> type
  std::map<std::string, std::string> helps;    // family -> help text (escaped)
  std::map<std::string, std::string> samples;  // "name{labels}" -> value
  std::vector<std::string> families;           // in order
};

Exposition parse(const std::string& text) {
  Exposition out;
  EXPECT_TRUE(text.empty() || text.back() == '\n');
  std::istringstream lines(text);
  std::string line;
  std::string family;
  while (std::getline(lines, line)) {
    if (line.starts_with("# HELP ")) {
      const std::string rest = line.substr(7);
      family = rest.substr(0, rest.find(' '));
      EXPECT_FALSE(out.helps.contains(family)) << "family twice: " << family;
      out.helps[family] = rest.substr(family.size() + 1);
      out.families.push_back(family);
      continue;
    }
    if (line.starts_with("# TYPE ")) {
      const std::string rest = line.substr(7);
      EXPECT_EQ(rest.substr(0, rest.find(' ')), family) << "TYPE right after its HELP: " << line;
      out.types[family] = rest.substr(rest.find(' ') + 1);
      continue;
    }
    EXPECT_FALSE(line.starts_with("#")) << line;
    const size_t space = line.rfind(' ');
    EXPECT_NE(space, std::string::npos) << line;
    const std::string series = line.substr(0, space);
    EXPECT_TRUE(series.starts_with(family)) << "sample outside its family: " << line;
    EXPECT_FALSE(out.samples.contains(series)) << "series twice: " << line;
    out.samples[series] = line.substr(space + 1);
  }
  return out;
}

SecurityCounterValues someCounts() {
  return SecurityCounterValues{.tls_handshake_failures = 1,
                               .tls_plaintext_refused = 2,
                               .tls_unavailable = 3,
                               .upstream_tls_failures = 4,
                               .authz_denied = 5,
                               .authz_audit = 6,
                               .authz_dry_run = 18446744073709551615u};
}

CertificateStatus someCertificate(std::string state) {
  CertificateStatus status;
  status.state = std::move(state);
  status.ca = "127.0.0.1:15010";
  status.certificate =
      CertificateSummary{"spiffe://cluster.local/ns/default/sa/reviews",
                         "0A1B",
                         "EC P-256",
                         std::chrono::sys_seconds(std::chrono::seconds(1'795'766'340)),
                         std::chrono::sys_seconds(std::chrono::seconds(1'795'852'800)),
                         1};
  status.issued = 3;
  status.consecutive_failures = 7;
  status.last_error = "UNAVAILABLE: \"connection refused\"\nretrying";
  return status;
}

TEST(PrometheusStatsTest, NothingProvidedIsAnEmptyExposition) {
  EXPECT_EQ(renderPrometheusStats(ProxyMetrics{}), "");
}

TEST(PrometheusStatsTest, EverySecurityCounterIsACounterWithHelp) {
  const std::string text =
      renderPrometheusStats(ProxyMetrics{someCounts(), std::nullopt, std::nullopt, {}, {}});
  const Exposition exposition = parse(text);
  const std::map<std::string, std::string> expected = {
      {"weft_proxy_tls_handshake_failures_total", "1"},
      {"weft_proxy_tls_plaintext_refused_total", "2"},
      {"weft_proxy_tls_unavailable_total", "3"},
      {"weft_proxy_upstream_tls_failures_total", "4"},
      {"weft_proxy_authz_denied_total", "5"},
      {"weft_proxy_authz_audit_matches_total", "6"},
      {"weft_proxy_authz_dry_run_differences_total", "18446744073709551615"},
  };
  EXPECT_EQ(exposition.samples, expected);
  ASSERT_EQ(exposition.families.size(), expected.size());
  for (const auto& [name, value] : expected) {
    EXPECT_EQ(exposition.types.at(name), "counter") << name;
    EXPECT_GT(exposition.helps.at(name).size(), 20u) << name;
  }
  // Without a CA, no certificate metric.
  EXPECT_EQ(text.find("weft_proxy_certificate"), std::string::npos);
  // The exact lines of one family.
  EXPECT_NE(text.find("# TYPE weft_proxy_tls_plaintext_refused_total counter\n"
                      "weft_proxy_tls_plaintext_refused_total 2\n"),
            std::string::npos)
      << text;
}

TEST(PrometheusStatsTest, EveryTrafficCounterIsACounterWithHelp) {
  const TrafficCounterValues values{.retries = 7,
                                    .retries_budget_refused = 8,
                                    .fault_delays = 9,
                                    .fault_aborts = 10,
                                    .rate_limited = 11,
                                    .mirrored = 12,
                                    .mirror_dropped = 13,
                                    .mirror_failures = 14,
                                    .health_checks = 15,
                                    .health_check_failures = 16,
                                    .health_check_unhealthy = 17,
                                    .outlier_ejections = 18,
                                    .spans_exported = 19,
                                    .spans_dropped = 20,
                                    .span_export_failures = 21,
                                    .tcp_upstream_failures = 22};
  const Exposition exposition =
      parse(renderPrometheusStats(ProxyMetrics{std::nullopt, std::nullopt, values, {}, {}}));
  const std::map<std::string, std::string> expected = {
      {"weft_proxy_upstream_retries_total", "7"},
      {"weft_proxy_upstream_retries_budget_refused_total", "8"},
      {"weft_proxy_fault_delays_total", "9"},
      {"weft_proxy_fault_aborts_total", "10"},
      {"weft_proxy_rate_limited_total", "11"},
      {"weft_proxy_mirrored_requests_total", "12"},
      {"weft_proxy_mirror_dropped_total", "13"},
      {"weft_proxy_mirror_failures_total", "14"},
      {"weft_proxy_health_checks_total", "15"},
      {"weft_proxy_health_check_failures_total", "16"},
      {"weft_proxy_health_check_unhealthy_total", "17"},
      {"weft_proxy_outlier_ejections_total", "18"},
      {"weft_proxy_tracing_spans_exported_total", "19"},
      {"weft_proxy_tracing_spans_dropped_total", "20"},
      {"weft_proxy_tracing_export_failures_total", "21"},
      {"weft_proxy_tcp_upstream_failures_total", "22"},
  };
  EXPECT_EQ(exposition.samples, expected);
  ASSERT_EQ(exposition.families.size(), expected.size());
  for (const auto& [name, value] : expected) {
    EXPECT_EQ(exposition.types.at(name), "counter") << name;
    EXPECT_GT(exposition.helps.at(name).size(), 20u) << name;
  }
}

TEST(PrometheusStatsTest, CertificateStateIsOneForTheCurrentStateOnly) {
  for (std::string_view current : kCertificateStates) {
    const Exposition exposition = parse(renderPrometheusStats(
        ProxyMetrics{std::nullopt, someCertificate(std::string(current)), std::nullopt, {}, {}}));
    EXPECT_EQ(exposition.types.at("weft_proxy_certificate_state"), "gauge");
    for (std::string_view state : kCertificateStates) {
      EXPECT_EQ(exposition.samples.at("weft_proxy_certificate_state{state=\"" + std::string(state) +
                                      "\"}"),
                state == current ? "1" : "0")
          << current << " / " << state;
    }
  }
}

TEST(PrometheusStatsTest, CertificateExpiryIssuedAndFailures) {
  const std::string text = renderPrometheusStats(
      ProxyMetrics{someCounts(), someCertificate("EXPIRING"), std::nullopt, {}, {}});
  const Exposition exposition = parse(text);
  EXPECT_EQ(exposition.samples.at("weft_proxy_certificate_expiry_timestamp_seconds"), "1795852800");
  EXPECT_EQ(exposition.types.at("weft_proxy_certificate_expiry_timestamp_seconds"), "gauge");
  EXPECT_EQ(exposition.samples.at("weft_proxy_certificate_issued_total"), "3");
  EXPECT_EQ(exposition.types.at("weft_proxy_certificate_issued_total"), "counter");
  EXPECT_EQ(exposition.samples.at("weft_proxy_certificate_consecutive_failures"), "7");
  EXPECT_EQ(exposition.types.at("weft_proxy_certificate_consecutive_failures"), "gauge");
  EXPECT_EQ(exposition.samples.at("weft_proxy_certificate_state{state=\"EXPIRING\"}"), "1");
  // Counters and certificate metrics side by side: 7 + 4 families.
  EXPECT_EQ(exposition.families.size(), 11u);
  // Public facts only, and no free text (the last error) that could break a line.
  EXPECT_EQ(text.find("connection refused"), std::string::npos);
  EXPECT_EQ(text.find("spiffe://"), std::string::npos);
}

TEST(PrometheusStatsTest, NoExpiryBeforeTheFirstCertificate) {
  CertificateStatus status;
  status.state = "AWAITING_FIRST";
  status.consecutive_failures = 2;
  const Exposition exposition =
      parse(renderPrometheusStats(ProxyMetrics{std::nullopt, status, std::nullopt, {}, {}}));
  EXPECT_FALSE(exposition.types.contains("weft_proxy_certificate_expiry_timestamp_seconds"));
  EXPECT_EQ(exposition.samples.at("weft_proxy_certificate_state{state=\"AWAITING_FIRST\"}"), "1");
  EXPECT_EQ(exposition.samples.at("weft_proxy_certificate_issued_total"), "0");
  EXPECT_EQ(exposition.samples.at("weft_proxy_certificate_consecutive_failures"), "2");
}

TEST(PrometheusStatsTest, AStateNotInTheListIsStillReported) {
  const Exposition exposition = parse(renderPrometheusStats(
      ProxyMetrics{std::nullopt, someCertificate("PAUSED \"x\""), std::nullopt, {}, {}}));
  EXPECT_EQ(exposition.samples.at("weft_proxy_certificate_state{state=\"PAUSED \\\"x\\\"\"}"), "1");
  for (std::string_view state : kCertificateStates) {
    EXPECT_EQ(
        exposition.samples.at("weft_proxy_certificate_state{state=\"" + std::string(state) + "\"}"),
        "0");
  }
}

TEST(PrometheusStatsTest, AccessLogLinesWrittenAndDroppedPerDestination) {
  ProxyMetrics metrics;
  metrics.access_logs = {{"/var/log/weft/access.log", 120, 3}, {"/dev/stdout", 7, 0}};
  const Exposition exposition = parse(renderPrometheusStats(metrics));
  EXPECT_EQ(exposition.types.at("weft_proxy_access_log_lines_total"), "counter");
  EXPECT_EQ(
      exposition.samples.at("weft_proxy_access_log_lines_total{path=\"/var/log/weft/access.log\"}"),
      "120");
  EXPECT_EQ(exposition.samples.at(
                "weft_proxy_access_log_dropped_lines_total{path=\"/var/log/weft/access.log\"}"),
            "3");
  EXPECT_EQ(exposition.samples.at("weft_proxy_access_log_lines_total{path=\"/dev/stdout\"}"), "7");
  EXPECT_FALSE(parse(renderPrometheusStats(ProxyMetrics{}))
                   .types.contains("weft_proxy_access_log_lines_total"));
}

TEST(PrometheusStatsTest, ConnectionPoolGaugesPerCluster) {
  ProxyMetrics metrics;
  metrics.clusters = {{"details", 2, 0, 1, 0}, {"reviews", 4, 3, 9, 1}};
  const Exposition exposition = parse(renderPrometheusStats(metrics));
  EXPECT_EQ(exposition.types.at("weft_proxy_upstream_connections"), "gauge");
  EXPECT_EQ(exposition.samples.at("weft_proxy_upstream_connections{cluster=\"reviews\"}"), "4");
  EXPECT_EQ(exposition.samples.at("weft_proxy_upstream_pending_requests{cluster=\"reviews\"}"),
            "3");
  EXPECT_EQ(exposition.samples.at("weft_proxy_upstream_active_requests{cluster=\"reviews\"}"), "9");
  EXPECT_EQ(exposition.samples.at("weft_proxy_upstream_active_retries{cluster=\"reviews\"}"), "1");
  EXPECT_EQ(exposition.samples.at("weft_proxy_upstream_active_requests{cluster=\"details\"}"), "1");
}

}  // namespace
}  // namespace weft::proxy::admin
