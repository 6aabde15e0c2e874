// The golden request metrics: series keys, label interning, per-worker shards and rendering.
#include "proxy/stats/request_metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace weft::proxy {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(RequestSeriesTest, AKeyHoldsEveryPartOfTheSeries) {
  const RequestSeries series{TrafficDirection::kInbound, 1234, 65'000, 503, 14, 7};
  const RequestSeries back = RequestSeries::fromKey(series.key());
  EXPECT_EQ(back.direction, TrafficDirection::kInbound);
  EXPECT_EQ(back.source, 1234U);
  EXPECT_EQ(back.destination, 65'000U);
  EXPECT_EQ(back.response_code, 503);
  EXPECT_EQ(back.grpc_status, 14);
  EXPECT_EQ(back.response_flag, 7);
  EXPECT_EQ(RequestSeries::fromKey(RequestSeries{}.key()).grpc_status, -1);
  // Distinct outcomes are distinct series.
  EXPECT_NE((RequestSeries{TrafficDirection::kOutbound, 2, 3, 200, -1, 0}.key()),
            (RequestSeries{TrafficDirection::kOutbound, 2, 3, 200, 0, 0}.key()));
  EXPECT_EQ(RequestSeries::fromKey(RequestSeries{{}, 0, 0, 1500, -1, 0}.key()).response_code, 999);
}

TEST(MetricLabelTableTest, EqualValuesShareAnIdAndEmptyReadsUnknown) {
  MetricLabelTable table;
  const uint32_t a = table.intern("reviews-v1", "shop", "reviews.shop.svc.cluster.local");
  EXPECT_EQ(table.intern("reviews-v1", "shop", "reviews.shop.svc.cluster.local"), a);
  EXPECT_NE(table.intern("reviews-v2", "shop", "reviews.shop.svc.cluster.local"), a);
  EXPECT_EQ(table.intern("", "", ""), MetricLabelTable::kUnknown);
  const uint32_t partial = table.intern("ratings", "", "");
  EXPECT_EQ(table.peer(partial).namespace_name, "unknown");
  EXPECT_EQ(table.peer(a).service, "reviews.shop.svc.cluster.local");
}

TEST(MetricLabelTableTest, PastItsLimitNewValuesShareTheOverflowEntry) {
  MetricLabelTable table;
  for (uint32_t i = 0; table.size() < MetricLabelTable::kMaxEntries; ++i) {
    table.intern("w" + std::to_string(i), "ns", "svc");
  }
  EXPECT_EQ(table.intern("one-too-many", "ns", "svc"), MetricLabelTable::kOverflow);
  EXPECT_EQ(table.intern("another", "ns", "svc"), MetricLabelTable::kOverflow);
  EXPECT_EQ(table.peer(MetricLabelTable::kOverflow).workload, "overflow");
  EXPECT_EQ(table.size(), MetricLabelTable::kMaxEntries);
}

class RequestMetricsTest : public ::testing::Test {
 protected:
  RequestMetricsTest() : registry_({0.001, 0.01, 0.1}, {"", "no_route", "upstream_timeout"}) {
    shard_.setBuckets(registry_.buckets());
    source_ = MetricLabelTable::global().intern("productpage", "shop", "");
    destination_ = MetricLabelTable::global().intern("reviews-v1", "shop", "reviews.shop");
  }

  std::string render() const {
    std::string out;
    registry_.render(out);
    return out;
  }

  RequestMetricsRegistry registry_;
  RequestMetricsShard shard_;
  uint32_t source_ = 0;
  uint32_t destination_ = 0;
};

TEST_F(RequestMetricsTest, CountsDurationsAndBytesReachTheRegistryOnFlush) {
  const uint64_t ok =
      RequestSeries{TrafficDirection::kOutbound, source_, destination_, 200, -1, 0}.key();
  shard_.recordRequest(ok, microseconds(500), 10, 100);  // bucket le=0.001
  shard_.recordRequest(ok, milliseconds(1), 20, 200);    // le=0.001 too: bounds are inclusive
  shard_.recordRequest(ok, milliseconds(50), 30, 300);   // le=0.1
  shard_.recordRequest(ok, milliseconds(500), 0, 0);     // above every bound
  EXPECT_EQ(render().find("weft_requests_total{"), std::string::npos);  // not flushed yet
  shard_.flushInto(registry_);
  const std::string labels =
      "direction=\"outbound\",source_workload=\"productpage\",source_namespace=\"shop\","
      "destination_workload=\"reviews-v1\",destination_namespace=\"shop\","
      "destination_service=\"reviews.shop\",response_code=\"200\",grpc_status=\"\","
      "response_flags=\"-\"";
  const std::string text = render();
  EXPECT_NE(text.find("weft_requests_total{" + labels + "} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("weft_request_duration_seconds_bucket{" + labels + ",le=\"0.001\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("weft_request_duration_seconds_bucket{" + labels + ",le=\"0.01\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("weft_request_duration_seconds_bucket{" + labels + ",le=\"0.1\"} 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("weft_request_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} 4\n"),
            std::string::npos);
  EXPECT_NE(text.find("weft_request_duration_seconds_count{" + labels + "} 4\n"),
            std::string::npos);
  EXPECT_NE(text.find("weft_request_duration_seconds_sum{" + labels + "} 0.5515\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("weft_request_bytes_total{" + labels + "} 60\n"), std::string::npos);
  EXPECT_NE(text.find("weft_response_bytes_total{" + labels + "} 600\n"), std::string::npos);

  // A second flush adds only what came since the first.
  shard_.recordRequest(ok, microseconds(10), 1, 1);
  shard_.flushInto(registry_);
  shard_.flushInto(registry_);  // nothing new: no change
  EXPECT_NE(render().find("weft_requests_total{" + labels + "} 5\n"), std::string::npos);
}

TEST_F(RequestMetricsTest, OutcomesAreSeparateSeriesWithTheirFlagNames) {
  shard_.recordRequest(
      RequestSeries{TrafficDirection::kInbound, source_, MetricLabelTable::kUnknown, 404, -1, 1}
          .key(),
      microseconds(5), 0, 0);
  shard_.recordRequest(
      RequestSeries{TrafficDirection::kInbound, source_, destination_, 200, 4, 2}.key(),
      microseconds(5), 0, 0);
  shard_.flushInto(registry_);
  const std::string text = render();
  EXPECT_NE(text.find("destination_workload=\"unknown\",destination_namespace=\"unknown\","
                      "destination_service=\"unknown\",response_code=\"404\",grpc_status=\"\","
                      "response_flags=\"no_route\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("response_code=\"200\",grpc_status=\"4\",response_flags=\"upstream_timeout\"} 1"),
      std::string::npos);
}

TEST_F(RequestMetricsTest, TcpConnectionsCountOpenedClosedAndBytes) {
  const uint64_t key = TcpSeries{TrafficDirection::kOutbound, source_, destination_}.key();
  shard_.recordTcpOpened(key);
  shard_.recordTcpOpened(key);
  shard_.recordTcpClosed(key, 1000, 250);
  shard_.flushInto(registry_);
  const std::string text = render();
  const std::string labels =
      "{direction=\"outbound\",source_workload=\"productpage\",source_namespace=\"shop\","
      "destination_workload=\"reviews-v1\",destination_namespace=\"shop\","
      "destination_service=\"reviews.shop\"}";
  EXPECT_NE(text.find("weft_tcp_connections_opened_total" + labels + " 2\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("weft_tcp_connections_closed_total" + labels + " 1\n"), std::string::npos);
  EXPECT_NE(text.find("weft_tcp_received_bytes_total" + labels + " 1000\n"), std::string::npos);
  EXPECT_NE(text.find("weft_tcp_sent_bytes_total" + labels + " 250\n"), std::string::npos);
}

TEST_F(RequestMetricsTest, EveryFamilyIsDescribedBeforeAnyRequest) {
  const std::string text = render();
  for (const char* family :
       {"weft_requests_total counter", "weft_request_duration_seconds histogram",
        "weft_request_bytes_total counter", "weft_response_bytes_total counter",
        "weft_tcp_connections_opened_total counter", "weft_tcp_sent_bytes_total counter"}) {
    EXPECT_NE(text.find(std::string("# TYPE ") + family + "\n"), std::string::npos) << family;
  }
}

}  // namespace
}  // namespace weft::proxy
