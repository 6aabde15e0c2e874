#include "cli/stat_command.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <sstream>

namespace weft::cli {
namespace {

TEST(StatWindowTest, ReadsPrometheusDurations) {
  std::chrono::milliseconds window{};
  ASSERT_EQ(parseWindow("5s", window), "");
  EXPECT_EQ(window, std::chrono::seconds(5));
  ASSERT_EQ(parseWindow("500ms", window), "");
  EXPECT_EQ(window, std::chrono::milliseconds(500));
  ASSERT_EQ(parseWindow("1m30s", window), "");
  EXPECT_EQ(window, std::chrono::seconds(90));
  ASSERT_EQ(parseWindow("2h", window), "");
  EXPECT_EQ(window, std::chrono::hours(2));
  for (const char* bad : {"", "5", "s", "5x", "-5s", "0s", "1.5s", "5s ", "99999999999h"}) {
    EXPECT_NE(parseWindow(bad, window), "") << bad;
  }
}

GoldenStats example() {
  GoldenStats stats;
  stats.window_seconds = 5;
  GoldenSignals reviews;
  reviews.requests = 100;
  reviews.requests_per_second = 20;
  reviews.success_rate = 0.7;
  reviews.latency_p50 = 0.000375;
  reviews.latency_p95 = 0.0123;
  reviews.latency_p99 = 1.5;
  stats.services.push_back(
      {"reviews.shop.svc.cluster.local", "shop", MeasuredBy::kCallers, reviews});
  stats.services.push_back({"inbound/9080", "shop", MeasuredBy::kServer, GoldenSignals{}});
  stats.edges.push_back({"shop", "productpage-v1", "reviews.shop.svc.cluster.local", "shop",
                         MeasuredBy::kCallers, reviews});
  return stats;
}

TEST(StatRenderTest, TablesOfServicesAndEdges) {
  const std::string table = renderStatTable(example(), {});
  EXPECT_EQ(table,
            "NAMESPACE   SERVICE                          SUCCESS   RPS     LATENCY_P50   "
            "LATENCY_P95   LATENCY_P99\n"
            "shop        reviews.shop.svc.cluster.local   70.00%    20.00   0.375ms       "
            "12.3ms        1500ms\n"
            "shop        inbound/9080 *                   -         0.00    -             "
            "-             -\n"
            "\n"
            "FROM                  TO                               SUCCESS   RPS     "
            "LATENCY_P50   LATENCY_P95   LATENCY_P99\n"
            "shop/productpage-v1   reviews.shop.svc.cluster.local   70.00%    20.00   0.375ms  "
            "     12.3ms        1500ms\n"
            "\n"
            "* measured by the service's own proxies (inbound): none of its callers in the "
            "window has a sidecar.\n");
}

TEST(StatRenderTest, SaysWhenThereIsNothingToShow) {
  StatFilter filter;
  ASSERT_EQ(parseStatFilter("shop", filter), "");
  GoldenStats empty;
  empty.window_seconds = 60;
  EXPECT_EQ(renderStatTable(empty, filter),
            "No service in namespace shop has request metrics (window 60s).\n");
  GoldenStats idle = example();
  idle.edges.clear();
  EXPECT_NE(renderStatTable(idle, {}).find("No requests between workloads and services"),
            std::string::npos);
}

TEST(StatRenderTest, JsonHasEveryNumberAndNullForTheUnknown) {
  const std::string text = renderStatJson(example());
  // Numbers as people write them, not Boost.JSON's 7E-1.
  EXPECT_NE(text.find("\"requests\":100,\"requests_per_second\":20,\"success_rate\":0.7,"),
            std::string::npos)
      << text;
  const boost::json::value document = boost::json::parse(text);
  EXPECT_EQ(document.at("window_seconds").to_number<double>(), 5);
  const auto& reviews = document.at("services").at(0);
  EXPECT_EQ(reviews.at("service").as_string(), "reviews.shop.svc.cluster.local");
  EXPECT_EQ(reviews.at("namespace").as_string(), "shop");
  EXPECT_EQ(reviews.at("measured_by").as_string(), "callers");
  EXPECT_EQ(reviews.at("requests").to_number<double>(), 100);
  EXPECT_EQ(reviews.at("requests_per_second").to_number<double>(), 20);
  EXPECT_EQ(reviews.at("success_rate").to_number<double>(), 0.7);
  EXPECT_EQ(reviews.at("latency_seconds").at("p99").to_number<double>(), 1.5);
  const auto& idle = document.at("services").at(1);
  EXPECT_EQ(idle.at("measured_by").as_string(), "server");
  EXPECT_TRUE(idle.at("success_rate").is_null());
  EXPECT_TRUE(idle.at("latency_seconds").at("p50").is_null());
  const auto& edge = document.at("edges").at(0);
  EXPECT_EQ(edge.at("source_namespace").as_string(), "shop");
  EXPECT_EQ(edge.at("source_workload").as_string(), "productpage-v1");
  EXPECT_EQ(edge.at("service").as_string(), "reviews.shop.svc.cluster.local");
  EXPECT_EQ(edge.at("service_namespace").as_string(), "shop");
}

TEST(StatRenderTest, JsonEscapesNames) {
  GoldenStats stats;
  stats.window_seconds = 1;
  stats.services.push_back({"a\"b\\c\n", "ns", MeasuredBy::kCallers, GoldenSignals{}});
  const boost::json::value document = boost::json::parse(renderStatJson(stats));
  EXPECT_EQ(document.at("services").at(0).at("service").as_string(), "a\"b\\c\n");
  EXPECT_TRUE(document.at("edges").as_array().empty());
}

TEST(StatCommandTest, RefusesUnusableOptionsBeforeReachingAnything) {
  const struct {
    StatOptions options;
    const char* error;
  } kCases[] = {
      {{}, "give one of them"},
      {{"", {"127.0.0.1:1"}, "http://127.0.0.1:1", "", "table"}, "give one of them"},
      {{"deploy/web", {"127.0.0.1:1"}, "", "", "table"}, "use a namespace"},
      {{"", {"127.0.0.1:1"}, "", "5", "table"}, "--window"},
      {{"", {"127.0.0.1:1"}, "", "", "yaml"}, "-o must be table or json"},
      {{"", {}, "https://127.0.0.1:1", "", "table"}, "plain HTTP only"},
  };
  for (const auto& c : kCases) {
    std::ostringstream out, err;
    EXPECT_EQ(runStat(c.options, out, err), 2) << c.error;
    EXPECT_NE(err.str().find(c.error), std::string::npos) << err.str();
    EXPECT_EQ(out.str(), "");
  }
}

}  // namespace
}  // namespace weft::cli
