#include "proxy/access_log/access_log_format.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

namespace weft::proxy {
namespace {

using std::chrono::milliseconds;

AccessLogRecord someRecord() {
  AccessLogRecord record;
  // 2026-11-28T08:30:00.123Z
  record.start_time = std::chrono::system_clock::time_point(milliseconds(1795854600123));
  record.duration = std::chrono::microseconds(12345);
  record.upstream_service_time = std::chrono::microseconds(11001);
  record.protocol = "HTTP/1.1";
  record.method = "POST";
  record.authority = "reviews.shop:8080";
  record.path = "/api/v1?x=1";
  record.user_agent = "curl/7.88.1";
  record.request_id = "00000001-0000000000000007";
  record.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  record.trace_id = traceIdOf(record.traceparent);
  record.response_code = 503;
  record.response_flags = "upstream_connect_failure";
  record.bytes_received = 50;
  record.bytes_sent = 91;
  record.upstream_cluster = "reviews";
  record.upstream_host =
      boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("10.0.0.7"), 8080);
  record.route_name = "api";
  record.downstream_peer =
      boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("fd00::1"), 40000);
  record.downstream_principal = "spiffe://cluster.local/ns/shop/sa/productpage";
  record.retries = 2;
  return record;
}

std::string line(const AccessLogFormat& format, const AccessLogRecord& record) {
  spdlog::memory_buf_t out;
  format.write(record, out);
  return std::string(out.data(), out.size());
}

TEST(AccessLogJsonTest, EveryFieldIsAKeyWithATypedValue) {
  const std::string text = line(AccessLogFormat::json(), someRecord());
  ASSERT_EQ(text.back(), '\n');
  EXPECT_EQ(text.find('\n'), text.size() - 1);
  const boost::json::object object = boost::json::parse(text).as_object();
  EXPECT_EQ(object.size(), static_cast<size_t>(AccessLogField::kAuthz) + 1);
  EXPECT_EQ(object.at("start_time").as_string(), "2026-11-28T08:30:00.123Z");
  EXPECT_DOUBLE_EQ(object.at("duration_ms").to_number<double>(), 12.345);
  EXPECT_DOUBLE_EQ(object.at("upstream_service_time_ms").to_number<double>(), 11.001);
  EXPECT_EQ(object.at("method").as_string(), "POST");
  EXPECT_EQ(object.at("path").as_string(), "/api/v1?x=1");
  EXPECT_EQ(object.at("response_code").as_int64(), 503);
  EXPECT_TRUE(object.at("grpc_status").is_null());
  EXPECT_EQ(object.at("response_flags").as_string(), "upstream_connect_failure");
  EXPECT_EQ(object.at("bytes_received").as_int64(), 50);
  EXPECT_EQ(object.at("bytes_sent").as_int64(), 91);
  EXPECT_EQ(object.at("upstream_host").as_string(), "10.0.0.7:8080");
  EXPECT_EQ(object.at("downstream_peer_address").as_string(), "[fd00::1]:40000");
  EXPECT_EQ(object.at("trace_id").as_string(), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(object.at("retries").as_int64(), 2);
  EXPECT_TRUE(object.at("upstream_principal").is_null());
  EXPECT_TRUE(object.at("authz").is_null());
}

TEST(AccessLogJsonTest, HostileRequestTextStaysOneValidLine) {
  AccessLogRecord record = someRecord();
  const std::string path = "/a\"b\\c\nd\x01\xff";
  record.path = path;
  const std::string text = line(AccessLogFormat::json(), record);
  EXPECT_EQ(text.find('\n'), text.size() - 1);
  const boost::json::object object = boost::json::parse(text).as_object();
  EXPECT_EQ(std::string(object.at("path").as_string()), "/a\"b\\c\nd\x01\xEF\xBF\xBD");
}

TEST(AccessLogJsonTest, AConnectionHasNoStatus) {
  AccessLogRecord record;
  record.protocol = "TCP";
  record.response_flags = "-";
  const boost::json::object object =
      boost::json::parse(line(AccessLogFormat::json(), record)).as_object();
  EXPECT_TRUE(object.at("response_code").is_null());
  EXPECT_TRUE(object.at("upstream_service_time_ms").is_null());
  EXPECT_TRUE(object.at("method").is_null());
}

TEST(AccessLogTextTest, PlaceholdersAndPercentSigns) {
  std::string error;
  const AccessLogFormat format = AccessLogFormat::text(
      "%START_TIME% %METHOD% %PATH% %RESPONSE_CODE% 100%% %GRPC_STATUS% [%UPSTREAM_HOST%]", error);
  ASSERT_EQ(error, "");
  EXPECT_EQ(line(format, someRecord()),
            "2026-11-28T08:30:00.123Z POST /api/v1?x=1 503 100% - [10.0.0.7:8080]\n");
}

TEST(AccessLogTextTest, RouteMetadataByKey) {
  std::string error;
  const AccessLogFormat format =
      AccessLogFormat::text("%ROUTE_METADATA(source)% %ROUTE_METADATA(team)%", error);
  ASSERT_EQ(error, "");
  const std::vector<std::pair<std::string, std::string>> metadata = {
      {"source", "TrafficRoute shop/reviews"}};
  AccessLogRecord record = someRecord();
  record.route_metadata = &metadata;
  EXPECT_EQ(line(format, record), "TrafficRoute shop/reviews -\n");
  record.route_metadata = nullptr;
  EXPECT_EQ(line(format, record), "- -\n");
  AccessLogFormat::text("%ROUTE_METADATA()%", error);
  EXPECT_EQ(error, "unknown field %ROUTE_METADATA()% at offset 0");
}

TEST(AccessLogTextTest, ControlCharactersAreEscaped) {
  std::string error;
  const AccessLogFormat format = AccessLogFormat::text("%USER_AGENT%|", error);
  AccessLogRecord record = someRecord();
  record.user_agent = "evil\n[fake] line\\";
  EXPECT_EQ(line(format, record), "evil\\x0a[fake] line\\x5c|\n");
}

TEST(AccessLogTextTest, UnknownOrUnclosedPlaceholdersAreRefused) {
  std::string error;
  AccessLogFormat::text("%METHOD% %STATUS%", error);
  EXPECT_EQ(error, "unknown field %STATUS% at offset 9");
  error.clear();
  AccessLogFormat::text("%METHOD% 100%", error);
  EXPECT_EQ(error, "unclosed % at offset 12 (write %% for a percent sign)");
  error.clear();
  AccessLogFormat::text("%method%", error);
  EXPECT_EQ(error, "unknown field %method% at offset 0");
}

TEST(AccessLogRecordTest, TraceIdOnlyFromAWellFormedTraceparent) {
  EXPECT_EQ(traceIdOf("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(traceIdOf("00-0af7651916cd43dd8448eb211c80319c"), "");
  EXPECT_EQ(traceIdOf(""), "");
}

}  // namespace
}  // namespace weft::proxy
