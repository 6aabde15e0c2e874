#include "common/metrics/metrics_endpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace weft::metrics {
namespace {

using boost::asio::ip::tcp;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A MetricsEndpoint on 127.0.0.1, its loop on a thread of its own, with one counter.
class MetricsEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto registry = std::make_shared<prometheus::Registry>();
    prometheus::BuildCounter()
        .Name("weft_test_things_total")
        .Help("Things counted by the test")
        .Register(*registry)
        .Add({{"kind", "a"}})
        .Increment(3);
    endpoint_.addCollectable(registry);
    ASSERT_EQ(endpoint_.listen("127.0.0.1:0"), "");
    ASSERT_NE(endpoint_.port(), 0);
    thread_ = std::thread([this] { loop_.run(); });
  }

  void TearDown() override {
    boost::asio::post(loop_, [this] { endpoint_.stop(); });
    work_.reset();
    loop_.stop();
    thread_.join();
  }

  // Sends `request` on a new connection and reads until the endpoint closes it.
  std::string exchange(const std::string& request) {
    boost::asio::io_context client;
    tcp::socket socket(client);
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), endpoint_.port()});
    boost::asio::write(socket, boost::asio::buffer(request));
    std::string answer;
    boost::system::error_code error;
    boost::asio::read(socket, boost::asio::dynamic_buffer(answer), error);
    return answer;
  }

  boost::asio::io_context loop_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      boost::asio::make_work_guard(loop_)};
  MetricsEndpoint endpoint_{loop_};
  std::thread thread_;
};

TEST_F(MetricsEndpointTest, ServesTheTextFormatOnMetrics) {
  const std::string answer =
      exchange("GET /metrics HTTP/1.1\r\nHost: cp\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(answer, HasSubstr("Content-Type: text/plain; version=0.0.4"));
  EXPECT_THAT(answer, HasSubstr("# TYPE weft_test_things_total counter"));
  EXPECT_THAT(answer, HasSubstr("weft_test_things_total{kind=\"a\"} 3"));
}

TEST_F(MetricsEndpointTest, KeepsTheConnectionForTheNextScrape) {
  const std::string answer = exchange(
      "GET /metrics HTTP/1.1\r\nHost: cp\r\n\r\n"
      "HEAD /metrics HTTP/1.1\r\nHost: cp\r\nConnection: close\r\n\r\n");
  const size_t second = answer.find("HTTP/1.1 200 OK", 1);
  ASSERT_NE(second, std::string::npos) << answer;
  // HEAD: the head only.
  EXPECT_EQ(answer.find("weft_test_things_total", answer.find("\r\n\r\n", second)),
            std::string::npos);
}

TEST_F(MetricsEndpointTest, AnswersOtherRequestsWithAReason) {
  EXPECT_THAT(exchange("GET / HTTP/1.1\r\nHost: cp\r\nConnection: close\r\n\r\n"),
              AllOf(StartsWith("HTTP/1.1 404"), HasSubstr("the metrics are at /metrics")));
  EXPECT_THAT(exchange("DELETE /metrics HTTP/1.1\r\nHost: cp\r\nConnection: close\r\n\r\n"),
              AllOf(StartsWith("HTTP/1.1 405"), HasSubstr("Allow: GET, HEAD")));
  EXPECT_THAT(exchange("POST /metrics HTTP/1.1\r\nHost: cp\r\nContent-Length: 3\r\n\r\nabc"),
              StartsWith("HTTP/1.1 400"));
  EXPECT_THAT(exchange("GET /metrics HTTP/1.1\r\nHost: cp\r\nX-Big: " + std::string(9000, 'a') +
                       "\r\n\r\n"),
              AllOf(StartsWith("HTTP/1.1 400"), HasSubstr("larger than 8 KiB")));
}

TEST_F(MetricsEndpointTest, AnswersTheProbes) {
  const std::string get_ready = "GET /ready HTTP/1.1\r\nHost: cp\r\nConnection: close\r\n\r\n";
  EXPECT_THAT(exchange(get_ready), AllOf(StartsWith("HTTP/1.1 200"), HasSubstr("ready")));
  std::string reason = "waiting for the first list of Pod";
  boost::asio::post(loop_,
                    [this, &reason] { endpoint_.setReadiness([&reason] { return reason; }); });
  EXPECT_THAT(
      exchange(get_ready),
      AllOf(StartsWith("HTTP/1.1 503"), HasSubstr("not ready: waiting for the first list of Pod")));
  boost::asio::post(loop_, [&reason] { reason.clear(); });
  EXPECT_THAT(exchange(get_ready), StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(exchange("GET /healthz HTTP/1.1\r\nHost: cp\r\nConnection: close\r\n\r\n"),
              AllOf(StartsWith("HTTP/1.1 200"), HasSubstr("ok")));
}

TEST(MetricsEndpointListenTest, RefusesAddressesItCannotUse) {
  boost::asio::io_context loop;
  MetricsEndpoint endpoint(loop);
  EXPECT_THAT(endpoint.listen("localhost"), HasSubstr("is not host:port"));
  EXPECT_THAT(endpoint.listen("127.0.0.1:99999"), HasSubstr("no valid port"));
  EXPECT_THAT(endpoint.listen("example:80"), HasSubstr("is not an IP address"));
  MetricsEndpoint first(loop);
  ASSERT_EQ(first.listen("127.0.0.1:0"), "");
  EXPECT_THAT(endpoint.listen("127.0.0.1:" + std::to_string(first.port())), HasSubstr("in use"));
}

}  // namespace
}  // namespace weft::metrics
