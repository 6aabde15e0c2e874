// The Prometheus text exposition writer: the lines it writes, numbers, escaping.
#include "proxy/stats/prometheus_text.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <limits>
#include <vector>

namespace weft::proxy {
namespace {

TEST(PrometheusTextTest, CounterFamilyWithHelpTypeAndSample) {
  std::string out;
  PrometheusTextWriter writer(out);
  writer.beginFamily("weft_test_total", MetricType::kCounter, "Things counted.");
  writer.sample(uint64_t{42});
  EXPECT_EQ(out,
            "# HELP weft_test_total Things counted.\n"
            "# TYPE weft_test_total counter\n"
            "weft_test_total 42\n");
}

TEST(PrometheusTextTest, EveryTypeName) {
  std::string out;
  PrometheusTextWriter writer(out);
  writer.beginFamily("a", MetricType::kCounter, "h");
  writer.beginFamily("b", MetricType::kGauge, "h");
  writer.beginFamily("c", MetricType::kHistogram, "h");
  writer.beginFamily("d", MetricType::kSummary, "h");
  writer.beginFamily("e", MetricType::kUntyped, "h");
  for (std::string_view line : {"# TYPE a counter\n", "# TYPE b gauge\n", "# TYPE c histogram\n",
                                "# TYPE d summary\n", "# TYPE e untyped\n"}) {
    EXPECT_NE(out.find(line), std::string::npos) << line;
  }
}

TEST(PrometheusTextTest, SamplesWithLabelsFollowTheirFamily) {
  std::string out;
  PrometheusTextWriter writer(out);
  writer.beginFamily("weft_state", MetricType::kGauge, "The state.");
  writer.sample({{"state", "VALID"}, {"ca", "127.0.0.1:15010"}}, 1);
  writer.sample({{"state", "EXPIRED"}, {"ca", "127.0.0.1:15010"}}, 0);
  writer.beginFamily("weft_other", MetricType::kGauge, "Another.");
  writer.sample({}, -3);
  EXPECT_EQ(out,
            "# HELP weft_state The state.\n"
            "# TYPE weft_state gauge\n"
            "weft_state{state=\"VALID\",ca=\"127.0.0.1:15010\"} 1\n"
            "weft_state{state=\"EXPIRED\",ca=\"127.0.0.1:15010\"} 0\n"
            "# HELP weft_other Another.\n"
            "# TYPE weft_other gauge\n"
            "weft_other -3\n");
}

TEST(PrometheusTextTest, LabelValuesEscapeBackslashQuoteAndNewline) {
  std::string out;
  PrometheusTextWriter writer(out);
  writer.beginFamily("weft_paths", MetricType::kGauge, "h");
  writer.sample({{"path", "C:\\dir \"quoted\"\nnext line"}}, 1);
  writer.sample({{"path", "\\\\\"\"\n\n"}}, 2);
  writer.sample({{"path", ""}}, 3);
  // Other bytes, tabs and UTF-8 included, pass unchanged.
  writer.sample({{"path", "tab\there caf\xc3\xa9 {}=,#"}}, 4);
  EXPECT_NE(out.find("weft_paths{path=\"C:\\\\dir \\\"quoted\\\"\\nnext line\"} 1\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("weft_paths{path=\"\\\\\\\\\\\"\\\"\\n\\n\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("weft_paths{path=\"\"} 3\n"), std::string::npos) << out;
  EXPECT_NE(out.find("weft_paths{path=\"tab\there caf\xc3\xa9 {}=,#\"} 4\n"), std::string::npos)
      << out;
}

TEST(PrometheusTextTest, HelpEscapesBackslashAndNewlineButNotQuotes) {
  std::string out;
  PrometheusTextWriter writer(out);
  writer.beginFamily("weft_help", MetricType::kGauge, "a \\ b\n\"c\"");
  EXPECT_EQ(out,
            "# HELP weft_help a \\\\ b\\n\"c\"\n"
            "# TYPE weft_help gauge\n");
}

TEST(PrometheusTextTest, EscapingFunctionsAppend) {
  std::string out = "x";
  appendEscapedHelp(out, "1\\2\n3\"");
  EXPECT_EQ(out, "x1\\\\2\\n3\"");
  out = "y";
  appendEscapedLabelValue(out, "1\\2\n3\"");
  EXPECT_EQ(out, "y1\\\\2\\n3\\\"");
  out.clear();
  appendEscapedLabelValue(out, "plain");
  EXPECT_EQ(out, "plain");
}

std::string valueText(MetricValue value) {
  std::string out;
  value.appendTo(out);
  return out;
}

TEST(PrometheusTextTest, IntegersAreExactAndDoublesShortest) {
  EXPECT_EQ(valueText(0), "0");
  EXPECT_EQ(valueText(std::numeric_limits<uint64_t>::max()), "18446744073709551615");
  EXPECT_EQ(valueText(std::numeric_limits<int64_t>::min()), "-9223372036854775808");
  EXPECT_EQ(valueText(true), "1");
  EXPECT_EQ(valueText(1.0), "1");
  EXPECT_EQ(valueText(0.25), "0.25");
  EXPECT_EQ(valueText(0.1), "0.1");
  EXPECT_EQ(valueText(-2.5), "-2.5");
  EXPECT_EQ(valueText(1e21), "1e+21");
  EXPECT_EQ(valueText(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(valueText(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(valueText(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(PrometheusTextTest, BucketBoundsAreWrittenAsPlainDecimals) {
  std::string out;
  PrometheusTextWriter writer(out);
  writer.beginFamily("weft_d_seconds", MetricType::kHistogram, "D.");
  const std::array<double, 4> bounds = {0.0001, 0.00025, 2.5, 86400};
  writer.histogram({}, bounds, std::array<uint64_t, 5>{1, 0, 0, 0, 0}, 0.5);
  EXPECT_NE(out.find("weft_d_seconds_bucket{le=\"0.0001\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("{le=\"0.00025\"}"), std::string::npos);
  EXPECT_NE(out.find("{le=\"2.5\"}"), std::string::npos);
  EXPECT_NE(out.find("{le=\"86400\"}"), std::string::npos);
  EXPECT_EQ(out.find("e-0"), std::string::npos);
}

TEST(PrometheusTextTest, HistogramBucketsAreCumulativeWithSumAndCount) {
  std::string out;
  PrometheusTextWriter writer(out);
  writer.beginFamily("weft_latency_seconds", MetricType::kHistogram, "Latency.");
  const std::array<MetricLabel, 1> labels = {MetricLabel{"route", "a\"b"}};
  const std::array<double, 3> bounds = {0.005, 0.1, 1};
  const std::array<uint64_t, 4> counts = {2, 0, 3, 1};
  writer.histogram(labels, bounds, counts, 2.75);
  writer.histogram({}, std::span<const double>(), std::array<uint64_t, 1>{5}, 1.5);
  EXPECT_EQ(out,
            "# HELP weft_latency_seconds Latency.\n"
            "# TYPE weft_latency_seconds histogram\n"
            "weft_latency_seconds_bucket{route=\"a\\\"b\",le=\"0.005\"} 2\n"
            "weft_latency_seconds_bucket{route=\"a\\\"b\",le=\"0.1\"} 2\n"
            "weft_latency_seconds_bucket{route=\"a\\\"b\",le=\"1\"} 5\n"
            "weft_latency_seconds_bucket{route=\"a\\\"b\",le=\"+Inf\"} 6\n"
            "weft_latency_seconds_sum{route=\"a\\\"b\"} 2.75\n"
            "weft_latency_seconds_count{route=\"a\\\"b\"} 6\n"
            "weft_latency_seconds_bucket{le=\"+Inf\"} 5\n"
            "weft_latency_seconds_sum 1.5\n"
            "weft_latency_seconds_count 5\n");
}

TEST(PrometheusTextTest, SuffixedSamplesWithALabelSpan) {
  std::string out;
  PrometheusTextWriter writer(out);
  writer.beginFamily("weft_rpc_seconds", MetricType::kSummary, "RPCs.");
  const std::vector<MetricLabel> labels = {{"method", "Get"}};
  writer.sample("_sum", labels, 0.5);
  writer.sample("_count", labels, uint64_t{2});
  EXPECT_NE(out.find("weft_rpc_seconds_sum{method=\"Get\"} 0.5\n"), std::string::npos) << out;
  EXPECT_NE(out.find("weft_rpc_seconds_count{method=\"Get\"} 2\n"), std::string::npos) << out;
}

TEST(PrometheusTextTest, FamilyNameOutlivesTheCallersString) {
  std::string out;
  PrometheusTextWriter writer(out);
  {
    std::string name = "weft_dynamic_name";
    writer.beginFamily(name, MetricType::kGauge, "h");
    name.assign(name.size(), 'x');
  }
  // Enough samples that the output reallocates while the name is copied from it.
  for (int i = 0; i < 200; ++i) {
    writer.sample(i);
  }
  EXPECT_NE(out.find("weft_dynamic_name 0\n"), std::string::npos);
  EXPECT_NE(out.find("weft_dynamic_name 199\n"), std::string::npos);
  EXPECT_EQ(out.find("xxx"), std::string::npos);
}

TEST(PrometheusTextTest, ValidNames) {
  for (std::string_view good : {"a", "_a", "weft_proxy_x_total", "a:b", ":a", "A9_"}) {
    EXPECT_TRUE(PrometheusTextWriter::isMetricName(good)) << good;
  }
  for (std::string_view bad : {"", "9a", "a-b", "a b", "a.b", "caf\xc3\xa9"}) {
    EXPECT_FALSE(PrometheusTextWriter::isMetricName(bad)) << bad;
  }
  for (std::string_view good : {"a", "_a", "le", "state", "A9_"}) {
    EXPECT_TRUE(PrometheusTextWriter::isLabelName(good)) << good;
  }
  for (std::string_view bad : {"", "9a", "a:b", "__name__", "a-b"}) {
    EXPECT_FALSE(PrometheusTextWriter::isLabelName(bad)) << bad;
  }
}

}  // namespace
}  // namespace weft::proxy
