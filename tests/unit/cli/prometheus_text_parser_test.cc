#include "cli/prometheus_text_parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace weft::cli {
namespace {

TEST(PrometheusTextParserTest, ReadsSamplesLabelsAndSpecialValues) {
  const std::string text =
      "# HELP weft_requests_total Requests\n"
      "# TYPE weft_requests_total counter\n"
      "weft_requests_total{response_code=\"200\",direction=\"outbound\"} 70\n"
      "weft_requests_total{direction=\"inbound\",response_code=\"503\",} 3 1700000000000\r\n"
      "\n"
      "  # an indented comment\n"
      "up 1e0\n"
      "weft_request_duration_seconds_bucket{le=\"+Inf\"} +Inf\n"
      "weft_request_duration_seconds_sum{} NaN\n"
      "some:recorded_rule\t-Inf\n"
      "weft_request_duration_seconds_bucket { le = \"0.005\" } .5";
  std::vector<MetricSample> samples;
  ASSERT_EQ(parsePrometheusText(text, samples), "");
  ASSERT_EQ(samples.size(), 7u);
  EXPECT_EQ(samples[0].name, "weft_requests_total");
  // Sorted by label name, whatever the order on the line.
  EXPECT_EQ(samples[0].labels, (Labels{{"direction", "outbound"}, {"response_code", "200"}}));
  EXPECT_EQ(samples[0].value, 70);
  EXPECT_EQ(labelValue(samples[1].labels, "response_code"), "503");
  EXPECT_EQ(labelValue(samples[1].labels, "grpc_status"), "");
  EXPECT_EQ(samples[1].value, 3);
  EXPECT_EQ(samples[2].name, "up");
  EXPECT_TRUE(std::isinf(samples[3].value) && samples[3].value > 0);
  EXPECT_TRUE(samples[4].labels.empty());
  EXPECT_TRUE(std::isnan(samples[4].value));
  EXPECT_EQ(samples[5].name, "some:recorded_rule");
  EXPECT_TRUE(std::isinf(samples[5].value) && samples[5].value < 0);
  EXPECT_EQ(samples[6].value, 0.5);
}

TEST(PrometheusTextParserTest, UnescapesLabelValues) {
  std::vector<MetricSample> samples;
  ASSERT_EQ(parsePrometheusText(R"(m{a="say \"hi\"\\n",b="x\ny",c="{,}= "} 1)", samples), "");
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(labelValue(samples[0].labels, "a"), "say \"hi\"\\n");
  EXPECT_EQ(labelValue(samples[0].labels, "b"), "x\ny");
  EXPECT_EQ(labelValue(samples[0].labels, "c"), "{,}= ");
}

TEST(PrometheusTextParserTest, KeepsOnlyWhatTheFilterAccepts) {
  std::vector<MetricSample> samples;
  ASSERT_EQ(parsePrometheusText("a 1\nb 2\na{x=\"1\"} 3\n", samples,
                                [](std::string_view name) { return name == "a"; }),
            "");
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[1].value, 3);
}

TEST(PrometheusTextParserTest, NamesTheLineAndTheProblemOfMalformedInput) {
  const struct {
    const char* text;
    const char* error;
  } kCases[] = {
      {"ok 1\n{a=\"b\"} 1\n", "line 2: a sample must start with a metric name"},
      {"9lives 1", "line 1: a sample must start with a metric name"},
      {"m", "line 1: m has no value"},
      {"m{} ", "line 1: m has no value"},
      {"m one", "line 1: \"one\" is not a sample value"},
      {"m 1.2.3", "line 1: \"1.2.3\" is not a sample value"},
      {"m 0x10", "line 1: \"0x10\" is not a sample value"},
      {"m 1 12.5", "line 1: \"12.5\" is not a timestamp (integer milliseconds)"},
      {"m 1 2 3", "line 1: unexpected text after the timestamp"},
      {"m{a=\"b\" 1", "line 1: expected , or } after label a"},
      {"m{a=\"b", "line 1: a label value has no closing quote"},
      {"m{a=\"b\\", "line 1: a label value has no closing quote"},
      {"m{a=\"\\t\"} 1", "line 1: unknown escape \\t in a label value"},
      {"m{a=b} 1", "line 1: expected a quoted value for label a"},
      {"m{a} 1", "line 1: expected = after label a"},
      {"m{1a=\"\"} 1", "line 1: expected a label name or } in the labels of m"},
      {"m{a:b=\"\"} 1", "line 1: expected = after label a"},
      {"m{,} 1", "line 1: expected a label name or } in the labels of m"},
      {"m{a=\"1\",a=\"2\"} 1", "line 1: label a appears twice"},
      {"m{", "line 1: expected a label name or } in the labels of m"},
  };
  for (const auto& c : kCases) {
    std::vector<MetricSample> samples;
    EXPECT_EQ(parsePrometheusText(c.text, samples), c.error) << c.text;
  }
}

TEST(PrometheusTextParserTest, EnforcesItsLimits) {
  TextParseLimits limits;
  limits.max_samples = 2;
  limits.max_labels_per_sample = 2;
  limits.max_line_bytes = 40;
  std::vector<MetricSample> samples;
  EXPECT_EQ(parsePrometheusText("a 1\nb 2\nc 3\n", samples, {}, limits),
            "line 3: more than 2 samples");
  EXPECT_EQ(samples.size(), 2u);  // what came before the error
  samples.clear();
  EXPECT_EQ(parsePrometheusText("m{a=\"\",b=\"\",c=\"\"} 1", samples, {}, limits),
            "line 1: m has more than 2 labels");
  EXPECT_EQ(parsePrometheusText("m{a=\"" + std::string(40, 'x') + "\"} 1", samples, {}, limits),
            "line 1: longer than 40 bytes");
  // Samples the filter drops do not count against the limit.
  samples.clear();
  EXPECT_EQ(parsePrometheusText(
                "a 1\nb 2\nb 3\na 4\n", samples, [](std::string_view name) { return name == "a"; },
                limits),
            "");
}

TEST(PrometheusTextParserTest, SurvivesArbitraryBytes) {
  // Untrusted input: whatever the bytes, an answer and no crash (the sanitizer build checks
  // the reads). A cheap deterministic generator over the characters the grammar cares about.
  std::string alphabet = "m_a{}=\",\\ \t\n\r#01.eE+-InfNa:";
  alphabet += '\0';
  alphabet += '\xff';
  uint32_t state = 12345;
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    const int length = round % 64;
    for (int i = 0; i < length; ++i) {
      state = state * 1103515245 + 12345;
      text += alphabet[(state >> 16) % alphabet.size()];
    }
    std::vector<MetricSample> samples;
    const std::string error = parsePrometheusText(text, samples);
    EXPECT_TRUE(error.empty() || error.starts_with("line ")) << error;
  }
}

TEST(SampleValueTest, AcceptsWhatPrometheusWrites) {
  double value = 0;
  EXPECT_TRUE(parseSampleValue("0.00025", value));
  EXPECT_EQ(value, 0.00025);
  EXPECT_TRUE(parseSampleValue("-2.5e-3", value));
  EXPECT_EQ(value, -0.0025);
  EXPECT_TRUE(parseSampleValue("+Inf", value));
  EXPECT_TRUE(std::isinf(value));
  EXPECT_TRUE(parseSampleValue("inf", value));
  EXPECT_TRUE(parseSampleValue("NaN", value));
  EXPECT_TRUE(std::isnan(value));
  for (const char* bad : {"", "+", "-", "Infx", "1,5", " 1", "1 ", "--1", "+-1", "e5"}) {
    EXPECT_FALSE(parseSampleValue(bad, value)) << bad;
  }
}

}  // namespace
}  // namespace weft::cli
