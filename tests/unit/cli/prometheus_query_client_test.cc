#include "cli/prometheus_query_client.h"

#include <gtest/gtest.h>

#include <cmath>

#include "cli/prometheus_traffic_source.h"

namespace weft::cli {
namespace {

TEST(PrometheusUrlTest, TakesAHostPortAndAnOptionalPathPrefix) {
  PrometheusServer server;
  ASSERT_EQ(parsePrometheusUrl("http://127.0.0.1:9090", server), "");
  EXPECT_EQ(server.address, "127.0.0.1:9090");
  EXPECT_EQ(server.path_prefix, "");
  ASSERT_EQ(parsePrometheusUrl("http://prometheus.monitoring:9090/prom/", server), "");
  EXPECT_EQ(server.address, "prometheus.monitoring:9090");
  EXPECT_EQ(server.path_prefix, "/prom");
  ASSERT_EQ(parsePrometheusUrl("prometheus", server), "");
  EXPECT_EQ(server.address, "prometheus:80");
  ASSERT_EQ(parsePrometheusUrl("http://[::1]", server), "");
  EXPECT_EQ(server.address, "[::1]:80");
  EXPECT_NE(parsePrometheusUrl("https://prometheus:9090", server), "");
  EXPECT_NE(parsePrometheusUrl("ftp://prometheus", server), "");
  EXPECT_NE(parsePrometheusUrl("http:///api", server), "");
}

TEST(InstantVectorTest, ReadsLabelsAndStringValues) {
  std::vector<MetricSample> samples;
  ASSERT_EQ(parseInstantVector(R"({"status":"success","data":{"resultType":"vector","result":[
      {"metric":{"response_code":"200","destination_service":"reviews"},
       "value":[1700000000.123,"1.5"]},
      {"metric":{"__name__":"up","le":"+Inf"},"value":[1700000000.123,"NaN"]}]}})",
                               samples),
            "");
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].name, "");
  EXPECT_EQ(samples[0].labels,
            (Labels{{"destination_service", "reviews"}, {"response_code", "200"}}));
  EXPECT_EQ(samples[0].value, 1.5);
  EXPECT_EQ(samples[1].name, "up");
  EXPECT_TRUE(std::isnan(samples[1].value));
}

TEST(InstantVectorTest, RefusesWhatIsNotAnInstantVector) {
  const struct {
    const char* json;
    const char* error;
  } kCases[] = {
      {"<html>", "the answer is not a Prometheus API document (JSON object)"},
      {"[]", "the answer is not a Prometheus API document (JSON object)"},
      {"{}", "the answer is not a Prometheus API document (no status)"},
      {R"({"status":"error","errorType":"bad_data","error":"parse error at char 5"})",
       "Prometheus refused the query: parse error at char 5"},
      {R"({"status":"success"})", "the answer has no data"},
      {R"({"status":"success","data":{"resultType":"matrix","result":[]}})",
       "the answer is not an instant vector"},
      {R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{}}]}})",
       "a series of the answer has no labels or no [time, \"value\"]"},
      {R"({"status":"success","data":{"resultType":"vector","result":[
          {"metric":{},"value":[1,2]}]}})",
       "a series of the answer has no labels or no [time, \"value\"]"},
      {R"({"status":"success","data":{"resultType":"vector","result":[
          {"metric":{"a":1},"value":[1,"2"]}]}})",
       "label a of a series is not a string"},
      {R"({"status":"success","data":{"resultType":"vector","result":[
          {"metric":{},"value":[1,"two"]}]}})",
       "\"two\" is not a sample value"},
  };
  for (const auto& c : kCases) {
    std::vector<MetricSample> samples;
    EXPECT_EQ(parseInstantVector(c.json, samples), c.error) << c.json;
  }
}

TEST(PrometheusTrafficQueriesTest, SumIncreasesByTheLabelsStatGroupsBy) {
  EXPECT_EQ(requestCountsQuery(std::chrono::minutes(1)),
            "sum by (direction, source_workload, source_namespace, destination_service, "
            "destination_namespace, response_code, grpc_status) "
            "(increase(weft_requests_total[60s]))");
  EXPECT_EQ(latencyBucketsQuery(std::chrono::milliseconds(1500)),
            "sum by (direction, source_workload, source_namespace, destination_service, "
            "destination_namespace, le) (increase(weft_request_duration_seconds_bucket[1500ms]))");
}

}  // namespace
}  // namespace weft::cli
