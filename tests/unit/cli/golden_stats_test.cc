#include "cli/golden_stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace weft::cli {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr char kReviews[] = "reviews.shop.svc.cluster.local";

TrafficKey outbound(std::string source_namespace, std::string source_workload, std::string service,
                    std::string destination_namespace = "shop") {
  return {"outbound", std::move(source_workload), std::move(source_namespace), std::move(service),
          std::move(destination_namespace)};
}

TrafficKey inbound(std::string source_namespace, std::string service,
                   std::string destination_namespace = "shop") {
  return {"inbound", "unknown", std::move(source_namespace), std::move(service),
          std::move(destination_namespace)};
}

// Adds `count` requests that all took at most `upper` seconds and more than the bound below
// it, with a histogram over every bound of kBounds, cumulative, as a proxy writes one.
constexpr double kBounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, kInf};
void addCalls(TrafficWindow& window, const TrafficKey& key, const std::string& code,
              const std::string& grpc, double count, double upper) {
  window.requests.push_back({key, code, grpc, count});
  for (const double bound : kBounds) {
    window.latency_buckets.push_back({key, bound, bound >= upper ? count : 0});
  }
}

TEST(SuccessTest, FailuresAre5xxNoResponseAndGrpcErrors) {
  EXPECT_TRUE(isSuccess("200", ""));
  EXPECT_TRUE(isSuccess("404", ""));  // the service answered as designed
  EXPECT_TRUE(isSuccess("429", ""));
  EXPECT_TRUE(isSuccess("200", "0"));
  EXPECT_TRUE(isSuccess("", ""));  // a series without the labels
  EXPECT_FALSE(isSuccess("500", ""));
  EXPECT_FALSE(isSuccess("503", ""));
  EXPECT_FALSE(isSuccess("0", ""));      // the client got no response
  EXPECT_FALSE(isSuccess("200", "14"));  // UNAVAILABLE in a 200 response's trailers
  EXPECT_FALSE(isSuccess("200", "5"));   // NOT_FOUND: gRPC counts every non-OK status
  EXPECT_FALSE(isSuccess("503", "14"));
}

TEST(StatFilterTest, ABareNameIsANamespaceAndADottedOneAService) {
  StatFilter filter;
  ASSERT_EQ(parseStatFilter("", filter), "");
  EXPECT_EQ(filter.kind, StatFilter::Kind::kAll);
  ASSERT_EQ(parseStatFilter("shop", filter), "");
  EXPECT_EQ(filter.kind, StatFilter::Kind::kNamespace);
  EXPECT_EQ(filter.name, "shop");
  ASSERT_EQ(parseStatFilter("reviews.shop", filter), "");
  EXPECT_EQ(filter.kind, StatFilter::Kind::kService);
  EXPECT_EQ(filter.name, "reviews.shop");
  for (const char* ns : {"ns/shop", "namespace/shop"}) {
    ASSERT_EQ(parseStatFilter(ns, filter), "");
    EXPECT_EQ(filter.kind, StatFilter::Kind::kNamespace);
    EXPECT_EQ(filter.name, "shop");
  }
  for (const char* service : {"svc/reviews", "service/reviews"}) {
    ASSERT_EQ(parseStatFilter(service, filter), "");
    EXPECT_EQ(filter.kind, StatFilter::Kind::kService);
    EXPECT_EQ(filter.name, "reviews");
  }
  EXPECT_NE(parseStatFilter("deploy/web", filter), "");
  EXPECT_NE(parseStatFilter("ns/", filter), "");
  EXPECT_NE(parseStatFilter("ns/a.b", filter), "");
}

MetricSample sample(std::string name, Labels labels, double value) {
  std::sort(labels.begin(), labels.end());
  return {std::move(name), std::move(labels), value};
}

TEST(ScrapeDifferenceTest, CountsWhatHappenedBetweenTheScrapes) {
  const Labels ok = {
      {"destination_service", kReviews}, {"direction", "outbound"}, {"response_code", "200"}};
  const Labels failed = {
      {"destination_service", kReviews}, {"direction", "outbound"}, {"response_code", "503"}};
  const Labels restarted = {{"destination_service", "ratings"}, {"response_code", "200"}};
  Labels fast = ok;
  fast.emplace_back("le", "0.005");
  Labels all = ok;
  all.emplace_back("le", "+Inf");
  Labels unreadable = ok;
  unreadable.emplace_back("le", "fast");
  const std::vector<MetricSample> before = {
      sample("weft_requests_total", ok, 10),
      sample("weft_requests_total", restarted, 50),
      sample("weft_request_duration_seconds_bucket", fast, 4),
      sample("weft_request_duration_seconds_bucket", all, 10),
  };
  const std::vector<MetricSample> after = {
      sample("weft_requests_total", ok, 15),
      sample("weft_requests_total", failed, 2),     // new since: counts from zero
      sample("weft_requests_total", restarted, 7),  // reset: counts from zero
      sample("weft_requests_total", ok, std::nan("")),
      sample("weft_request_bytes_total", ok, 1000),  // not read
      sample("weft_request_duration_seconds_bucket", fast, 8),
      sample("weft_request_duration_seconds_bucket", all, 17),
      sample("weft_request_duration_seconds_bucket", unreadable, 17),
  };
  TrafficWindow window;
  addScrapeDifference(before, after, window);
  ASSERT_EQ(window.requests.size(), 3u);
  EXPECT_EQ(window.requests[0].count, 5);
  EXPECT_EQ(window.requests[0].response_code, "200");
  EXPECT_EQ(window.requests[0].key.destination_service, kReviews);
  EXPECT_EQ(window.requests[0].key.direction, "outbound");
  EXPECT_EQ(window.requests[1].count, 2);
  EXPECT_EQ(window.requests[1].response_code, "503");
  EXPECT_EQ(window.requests[2].count, 7);
  ASSERT_EQ(window.latency_buckets.size(), 2u);
  EXPECT_EQ(window.latency_buckets[0].upper_bound, 0.005);
  EXPECT_EQ(window.latency_buckets[0].count, 4);
  EXPECT_EQ(window.latency_buckets[1].upper_bound, kInf);
  EXPECT_EQ(window.latency_buckets[1].count, 7);
}

TEST(GoldenStatsTest, ServicesAddUpTheirCallersAndEdgesKeepThemApart) {
  TrafficWindow window;
  window.seconds = 10;
  addCalls(window, outbound("shop", "productpage-v1", kReviews), "200", "", 70, 0.025);
  addCalls(window, outbound("shop", "productpage-v1", kReviews), "503", "", 30, 0.0025);
  addCalls(window, outbound("front", "web", kReviews), "200", "", 20, 0.1);
  // The same calls seen by reviews' own sidecar: not counted a second time.
  addCalls(window, inbound("shop", kReviews), "200", "", 90, 0.025);
  const GoldenStats stats = computeGoldenStats(window, {});
  EXPECT_EQ(stats.window_seconds, 10);
  ASSERT_EQ(stats.services.size(), 1u);
  const ServiceStats& reviews = stats.services[0];
  EXPECT_EQ(reviews.service, kReviews);
  EXPECT_EQ(reviews.service_namespace, "shop");
  EXPECT_EQ(reviews.measured_by, MeasuredBy::kCallers);
  EXPECT_EQ(reviews.signals.requests, 120);
  EXPECT_DOUBLE_EQ(reviews.signals.requests_per_second, 12);
  EXPECT_DOUBLE_EQ(reviews.signals.success_rate, 90.0 / 120);
  // 120 calls: 30 in (0.001, 0.0025], 70 in (0.01, 0.025], 20 in (0.05, 0.1]. The median
  // (rank 60) is the 30th of 70 in (0.01, 0.025]; p99 (rank 118.8) the 18.8th of 20 in
  // (0.05, 0.1].
  EXPECT_DOUBLE_EQ(reviews.signals.latency_p50, 0.01 + 0.015 * 30 / 70);
  EXPECT_DOUBLE_EQ(reviews.signals.latency_p99, 0.05 + 0.05 * 18.8 / 20);
  ASSERT_EQ(stats.edges.size(), 2u);
  const EdgeStats& web = stats.edges[0];  // by service, then source namespace and workload
  EXPECT_EQ(web.source_namespace, "front");
  EXPECT_EQ(web.source_workload, "web");
  EXPECT_EQ(web.service, kReviews);
  EXPECT_EQ(web.signals.requests, 20);
  EXPECT_DOUBLE_EQ(web.signals.success_rate, 1);
  EXPECT_DOUBLE_EQ(web.signals.latency_p50, 0.075);
  const EdgeStats& productpage = stats.edges[1];
  EXPECT_EQ(productpage.source_workload, "productpage-v1");
  EXPECT_EQ(productpage.signals.requests, 100);
  EXPECT_DOUBLE_EQ(productpage.signals.requests_per_second, 10);
  EXPECT_DOUBLE_EQ(productpage.signals.success_rate, 0.7);
  EXPECT_DOUBLE_EQ(productpage.signals.latency_p95, 0.01 + 0.015 * 65 / 70);
}

TEST(GoldenStatsTest, GrpcStatusesAndUnspecifiedListenersCount) {
  TrafficWindow window;
  window.seconds = 1;
  TrafficKey unspecified = outbound("shop", "productpage-v1", "echo.shop.svc.cluster.local");
  unspecified.direction = "unspecified";
  window.requests.push_back({unspecified, "200", "0", 6});
  window.requests.push_back({unspecified, "200", "14", 2});
  window.requests.push_back({unspecified, "0", "", 2});
  const GoldenStats stats = computeGoldenStats(window, {});
  ASSERT_EQ(stats.services.size(), 1u);
  EXPECT_EQ(stats.services[0].measured_by, MeasuredBy::kCallers);
  EXPECT_DOUBLE_EQ(stats.services[0].signals.success_rate, 0.6);
  EXPECT_TRUE(std::isnan(stats.services[0].signals.latency_p50));  // no histogram given
}

TEST(GoldenStatsTest, AServiceNoMeshedCallerReachedIsMeasuredByItsOwnSidecar) {
  TrafficWindow window;
  window.seconds = 5;
  addCalls(window, inbound("unknown", "ratings.shop.svc.cluster.local"), "200", "", 9, 0.25);
  addCalls(window, inbound("unknown", "ratings.shop.svc.cluster.local"), "500", "", 1, 0.25);
  // A service its callers stopped calling: it stays on the callers' side, idle.
  window.requests.push_back({outbound("shop", "productpage-v1", kReviews), "200", "", 0});
  window.requests.push_back({inbound("shop", kReviews), "200", "", 0});
  const GoldenStats stats = computeGoldenStats(window, {});
  ASSERT_EQ(stats.services.size(), 2u);
  const ServiceStats& ratings = stats.services[0];
  EXPECT_EQ(ratings.service, "ratings.shop.svc.cluster.local");
  EXPECT_EQ(ratings.measured_by, MeasuredBy::kServer);
  EXPECT_EQ(ratings.signals.requests, 10);
  EXPECT_DOUBLE_EQ(ratings.signals.success_rate, 0.9);
  EXPECT_DOUBLE_EQ(ratings.signals.requests_per_second, 2);
  const ServiceStats& reviews = stats.services[1];
  EXPECT_EQ(reviews.measured_by, MeasuredBy::kCallers);
  EXPECT_EQ(reviews.signals.requests, 0);
  EXPECT_TRUE(std::isnan(reviews.signals.success_rate));
  // Only edges with requests; the caller of ratings is known by namespace only.
  ASSERT_EQ(stats.edges.size(), 1u);
  EXPECT_EQ(stats.edges[0].source_namespace, "unknown");
  EXPECT_EQ(stats.edges[0].source_workload, "unknown");
  EXPECT_EQ(stats.edges[0].measured_by, MeasuredBy::kServer);
}

TEST(GoldenStatsTest, AServiceNamespaceComesFromItsEndpointsElseItsName) {
  TrafficWindow window;
  window.seconds = 1;
  // Mostly answered by endpoints in "shop"; local replies have no endpoint.
  window.requests.push_back({outbound("a", "w", "cart", "shop"), "200", "", 5});
  window.requests.push_back({outbound("a", "w", "cart", "unknown"), "503", "", 9});
  window.requests.push_back({outbound("a", "w", "cart", "staging"), "200", "", 2});
  window.requests.push_back(
      {outbound("a", "w", "orders.billing.svc.cluster.local", "unknown"), "503", "", 1});
  window.requests.push_back({outbound("a", "w", "orders.billing", "unknown"), "503", "", 1});
  const GoldenStats stats = computeGoldenStats(window, {});
  ASSERT_EQ(stats.services.size(), 3u);
  // By namespace, then name.
  EXPECT_EQ(stats.services[0].service, "orders.billing.svc.cluster.local");
  EXPECT_EQ(stats.services[0].service_namespace, "billing");
  EXPECT_EQ(stats.services[1].service, "cart");
  EXPECT_EQ(stats.services[1].service_namespace, "shop");
  EXPECT_EQ(stats.services[1].signals.requests, 16);  // failures stay with their service
  EXPECT_EQ(stats.services[2].service, "orders.billing");
  EXPECT_EQ(stats.services[2].service_namespace, "unknown");
}

TEST(GoldenStatsTest, ANamespaceSelectsItsServicesAndTheEdgesInAndOut) {
  TrafficWindow window;
  window.seconds = 1;
  addCalls(window, outbound("shop", "productpage-v1", kReviews), "200", "", 4, 0.025);
  addCalls(window, outbound("front", "web", "productpage.shop.svc.cluster.local"), "200", "", 3,
           0.025);
  addCalls(window, outbound("shop", "productpage-v1", "users.auth.svc.cluster.local", "auth"),
           "200", "", 2, 0.025);
  addCalls(window, outbound("front", "web", "users.auth.svc.cluster.local", "auth"), "200", "", 1,
           0.025);
  StatFilter shop;
  ASSERT_EQ(parseStatFilter("shop", shop), "");
  const GoldenStats stats = computeGoldenStats(window, shop);
  ASSERT_EQ(stats.services.size(), 2u);
  EXPECT_EQ(stats.services[0].service, "productpage.shop.svc.cluster.local");
  EXPECT_EQ(stats.services[1].service, kReviews);
  // Into shop (web -> productpage), within it, and out of it (productpage -> users); not
  // web -> users.
  ASSERT_EQ(stats.edges.size(), 3u);
  EXPECT_EQ(stats.edges[0].service, "productpage.shop.svc.cluster.local");
  EXPECT_EQ(stats.edges[1].service, kReviews);
  EXPECT_EQ(stats.edges[2].service, "users.auth.svc.cluster.local");
  EXPECT_EQ(stats.edges[2].source_workload, "productpage-v1");
  EXPECT_EQ(stats.edges[2].signals.requests, 2);
  EXPECT_EQ(stats.edges[2].service_namespace, "auth");
  EXPECT_TRUE(std::isfinite(stats.edges[2].signals.latency_p50));
}

TEST(GoldenStatsTest, AServiceNameMatchesLabelByLabel) {
  TrafficWindow window;
  window.seconds = 1;
  for (const char* service : {kReviews, "reviews.shopping.svc.cluster.local", "reviews"}) {
    window.requests.push_back({outbound("shop", "productpage-v1", service), "200", "", 1});
  }
  StatFilter filter;
  ASSERT_EQ(parseStatFilter("reviews.shop", filter), "");
  GoldenStats stats = computeGoldenStats(window, filter);
  ASSERT_EQ(stats.services.size(), 1u);
  EXPECT_EQ(stats.services[0].service, kReviews);
  ASSERT_EQ(stats.edges.size(), 1u);
  ASSERT_EQ(parseStatFilter("svc/reviews", filter), "");
  stats = computeGoldenStats(window, filter);
  EXPECT_EQ(stats.services.size(), 3u);
}

}  // namespace
}  // namespace weft::cli
