// The admin server over real loopback sockets: a server on port 0 in an io_context on its own
// thread, a small Beast client whose every operation is bounded by a deadline.
#include "proxy/admin/admin_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <future>
#include <mutex>
#include <thread>

#include "common/log/logger.h"
#include "common/version/version.h"

namespace weft::proxy::admin {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;
using Response = http::response<http::string_body>;

constexpr auto kDeadline = std::chrono::seconds(10);

// One client connection. Each call runs the client's own io_context until the operation
// completes or its deadline expires, so a misbehaving server fails the test instead of
// hanging it.
class Client {
 public:
  explicit Client(uint16_t port) : stream_(io_) {
    stream_.expires_after(kDeadline);
    stream_.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                          [this](error_code error) { error_ = error; });
    run();
  }

  bool connected() const { return stream_.socket().is_open() && !error_; }
  error_code error() const { return error_; }

  void sendRaw(std::string_view bytes) {
    stream_.expires_after(kDeadline);
    asio::async_write(stream_, asio::buffer(bytes),
                      [this](error_code error, size_t) { error_ = error; });
    run();
  }

  void send(http::verb method, std::string_view target,
            std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::request<http::string_body> request{method, target, 11};
    request.set(http::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) {
      request.set(name, value);
    }
    request.prepare_payload();
    stream_.expires_after(kDeadline);
    http::async_write(stream_, request, [this](error_code error, size_t) { error_ = error; });
    run();
  }

  // Reads one response; nullopt (and error()) when none arrives.
  std::optional<Response> read(bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.skip(head);
    stream_.expires_after(kDeadline);
    http::async_read(stream_, buffer_, parser,
                     [this](error_code error, size_t) { error_ = error; });
    run();
    if (error_) {
      return std::nullopt;
    }
    Response response = parser.release();
    // Every admin answer says what it is.
    EXPECT_FALSE(response[http::field::content_type].empty()) << response;
    return response;
  }

  Response request(http::verb method, std::string_view target,
                   std::vector<std::pair<std::string, std::string>> headers = {}) {
    send(method, target, std::move(headers));
    auto response = read(method == http::verb::head);
    EXPECT_TRUE(response) << method << " " << target << ": " << error_.message();
    return response ? std::move(*response) : Response{};
  }

  // Whether the server closed the connection (reads EOF, not data, before the deadline).
  bool closedByServer() {
    if (buffer_.size() > 0) {
      return false;
    }
    std::array<char, 256> scratch;
    error_code read_error;
    stream_.expires_after(kDeadline);
    stream_.async_read_some(asio::buffer(scratch),
                            [&read_error](error_code error, size_t) { read_error = error; });
    run();
    return read_error == asio::error::eof || read_error == asio::error::connection_reset;
  }

 private:
  void run() {
    io_.restart();
    io_.run();
  }

  asio::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  error_code error_;
};

Response get(uint16_t port, std::string_view target) {
  return Client(port).request(http::verb::get, target);
}

Response post(uint16_t port, std::string_view target,
              std::vector<std::pair<std::string, std::string>> headers = {}) {
  return Client(port).request(http::verb::post, target, std::move(headers));
}

class AdminServerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    stopServer();
    weft::log::setLogLevel(spdlog::level::info);
  }

  void start(AdminCallbacks callbacks, AdminOptions options = {}) {
    options.address = tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0);
    server_ = std::make_unique<AdminServer>(io_, options, std::move(callbacks));
    ASSERT_EQ(server_->listen(), "");
    port_ = server_->port();
    ASSERT_NE(port_, 0);
    thread_ = std::thread([this] {
      io_.run();
      stopped_.set_value();
    });
  }

  // Asks the server to stop and waits (bounded) for its io_context to run out of work: the
  // server must leave nothing behind that keeps the main loop alive.
  void stopServer() {
    if (!server_) {
      return;
    }
    if (thread_.joinable()) {
      asio::post(io_, [this] { server_->stop(); });
      if (stopped_future_.wait_for(kDeadline) != std::future_status::ready) {
        ADD_FAILURE() << "the io_context kept running after stop()";
        io_.stop();
      }
      thread_.join();
    }
    server_.reset();
  }

  // Waits (bounded) for the io_context to finish on its own, e.g. after /quitquitquit.
  bool waitForServerExit() {
    return stopped_future_.wait_for(kDeadline) == std::future_status::ready;
  }

  AdminCallbacks liveCallbacks() {
    AdminCallbacks callbacks;
    callbacks.status = [] { return ProxyStatus{ServerState::kLive, "", 3}; };
    return callbacks;
  }

  asio::io_context io_;
  std::unique_ptr<AdminServer> server_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::promise<void> stopped_;
  std::future<void> stopped_future_ = stopped_.get_future();
};

TEST_F(AdminServerTest, IndexListsTheEndpoints) {
  start(liveCallbacks());
  const Response response = get(port_, "/");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response[http::field::content_type], "text/plain; charset=utf-8");
  for (std::string_view path :
       {"/config_dump", "/clusters", "/certs", "/stats/prometheus", "/ready", "/healthz",
        "/server_info", "/logging", "/drain_listeners", "/quitquitquit"}) {
    EXPECT_NE(response.body().find(path), std::string::npos) << path;
  }
}

TEST_F(AdminServerTest, UnknownPathIs404WithAHint) {
  start(liveCallbacks());
  const Response response = get(port_, "/stats/nope");
  EXPECT_EQ(response.result_int(), 404);
  EXPECT_NE(response.body().find("/stats/nope"), std::string::npos);
  EXPECT_NE(response.body().find("GET /"), std::string::npos);
}

TEST_F(AdminServerTest, WrongMethodIs405WithAllowAndTriggersNothing) {
  int drains = 0;
  int quits = 0;
  AdminCallbacks callbacks = liveCallbacks();
  callbacks.drain = [&] { ++drains; };
  callbacks.quit = [&] { ++quits; };
  start(std::move(callbacks));

  Response response = post(port_, "/clusters");
  EXPECT_EQ(response.result_int(), 405);
  EXPECT_EQ(response[http::field::allow], "GET, HEAD");

  for (std::string_view path : {"/drain_listeners", "/drain", "/quitquitquit"}) {
    response = get(port_, path);
    EXPECT_EQ(response.result_int(), 405) << path;
    EXPECT_EQ(response[http::field::allow], "POST") << path;
    EXPECT_NE(response.body().find("needs POST"), std::string::npos) << path;
  }
  response = Client(port_).request(http::verb::put, "/logging?level=debug");
  EXPECT_EQ(response.result_int(), 405);
  EXPECT_EQ(response[http::field::allow], "GET, HEAD, POST");

  stopServer();
  EXPECT_EQ(drains, 0);
  EXPECT_EQ(quits, 0);
}

weft::v1::Bootstrap sampleBootstrap() {
  weft::v1::Bootstrap bootstrap;
  bootstrap.mutable_node()->set_id("reviews-v1.default");
  bootstrap.set_concurrency(2);
  bootstrap.mutable_static_resources()->add_clusters()->set_name("backend");
  auto* secret = bootstrap.mutable_static_resources()->add_secrets();
  secret->set_name("identity");
  secret->mutable_tls_certificate()->set_certificate_chain("CERTIFICATE");
  secret->mutable_tls_certificate()->set_private_key("KEY-MATERIAL");
  return bootstrap;
}

TEST_F(AdminServerTest, ConfigDumpPrintsTheBootstrapAsJson) {
  AdminCallbacks callbacks = liveCallbacks();
  auto bootstrap = std::make_shared<const weft::v1::Bootstrap>(sampleBootstrap());
  callbacks.config_dump = [bootstrap] {
    return std::optional<ConfigDump>(
        ConfigDump{bootstrap, "static", std::chrono::system_clock::now()});
  };
  start(std::move(callbacks));

  const Response response = get(port_, "/config_dump");
  ASSERT_EQ(response.result_int(), 200) << response.body();
  EXPECT_EQ(response[http::field::content_type], "application/json");
  EXPECT_EQ(response.body().find("KEY-MATERIAL"), std::string::npos);
  const boost::json::value dump = boost::json::parse(response.body());
  EXPECT_EQ(dump.at("version_info"), "static");
  EXPECT_TRUE(dump.at("last_updated").is_string());
  const auto& config = dump.at("bootstrap");
  EXPECT_EQ(config.at("node").at("id"), "reviews-v1.default");
  EXPECT_EQ(config.at("concurrency").to_number<int>(), 2);
  EXPECT_EQ(config.at("static_resources").at("clusters").at(0).at("name"), "backend");
  EXPECT_EQ(
      config.at("static_resources").at("secrets").at(0).at("tls_certificate").at("private_key"),
      "[redacted]");
}

TEST_F(AdminServerTest, ConfigDumpBeforeAnyConfigurationIs503) {
  AdminCallbacks callbacks = liveCallbacks();
  callbacks.config_dump = [] { return std::optional<ConfigDump>(); };
  start(std::move(callbacks));
  const Response response = get(port_, "/config_dump");
  EXPECT_EQ(response.result_int(), 503);
  EXPECT_NE(response.body().find("no configuration"), std::string::npos);
}

TEST_F(AdminServerTest, EndpointsWithoutCallbacksSaySo) {
  start(AdminCallbacks{});
  EXPECT_EQ(get(port_, "/config_dump").result_int(), 501);
  EXPECT_EQ(get(port_, "/clusters").result_int(), 501);
  EXPECT_EQ(post(port_, "/drain_listeners").result_int(), 501);
  EXPECT_EQ(post(port_, "/quitquitquit").result_int(), 501);
  const Response ready = get(port_, "/ready");
  EXPECT_EQ(ready.result_int(), 503);
  EXPECT_NE(ready.body().find("does not report readiness"), std::string::npos);
  EXPECT_EQ(get(port_, "/healthz").result_int(), 200);
  // Metrics come from several providers; with none, the exposition is empty but valid.
  const Response stats = get(port_, "/stats/prometheus");
  EXPECT_EQ(stats.result_int(), 200);
  EXPECT_EQ(stats.body(), "");
}

TEST_F(AdminServerTest, CertsWithoutAWorkloadCertificateIs404) {
  start(liveCallbacks());
  const Response response = get(port_, "/certs");
  EXPECT_EQ(response.result_int(), 404);
  EXPECT_NE(response.body().find("dynamic_resources.ca"), std::string::npos);
}

TEST_F(AdminServerTest, CertsShowsTheWorkloadCertificate) {
  AdminCallbacks callbacks = liveCallbacks();
  callbacks.certificates = [] {
    CertificateStatus status;
    status.state = "VALID";
    status.ca = "127.0.0.1:15010";
    status.certificate = CertificateSummary{"spiffe://cluster.local/ns/default/sa/reviews",
                                            "0A1B",
                                            "EC P-256",
                                            std::chrono::sys_seconds(std::chrono::seconds(0)),
                                            std::chrono::sys_seconds(std::chrono::seconds(86400)),
                                            1};
    status.next_request = std::chrono::sys_time<std::chrono::milliseconds>(std::chrono::hours(12));
    status.issued = 1;
    return status;
  };
  start(std::move(callbacks));
  const Response response = get(port_, "/certs");
  ASSERT_EQ(response.result_int(), 200);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  const boost::json::value json = boost::json::parse(response.body());
  EXPECT_EQ(json.at("state").as_string(), "VALID");
  EXPECT_EQ(json.at("ca").as_string(), "127.0.0.1:15010");
  const auto& certificate = json.at("certificate");
  EXPECT_EQ(certificate.at("spiffe_id").as_string(),
            "spiffe://cluster.local/ns/default/sa/reviews");
  EXPECT_EQ(certificate.at("serial").as_string(), "0A1B");
  EXPECT_EQ(certificate.at("not_before").as_string(), "1970-01-01T00:00:00Z");
  EXPECT_EQ(certificate.at("not_after").as_string(), "1970-01-02T00:00:00Z");
  EXPECT_EQ(json.at("next_request").as_string(), "1970-01-01T12:00:00Z");
  EXPECT_TRUE(json.at("last_error").is_null());
  EXPECT_EQ(json.at("issued").to_number<int>(), 1);
}

TEST_F(AdminServerTest, PrometheusStatsShowsTheCountersAndTheCertificate) {
  AdminCallbacks callbacks = liveCallbacks();
  int scrapes = 0;
  callbacks.security_counters = [&scrapes] {
    ++scrapes;
    return SecurityCounterValues{.tls_plaintext_refused = 2, .authz_denied = 9};
  };
  callbacks.certificates = [] {
    CertificateStatus status;
    status.state = "EXPIRING";
    status.certificate = CertificateSummary{"spiffe://cluster.local/ns/default/sa/reviews",
                                            "0A1B",
                                            "EC P-256",
                                            std::chrono::sys_seconds(std::chrono::seconds(0)),
                                            std::chrono::sys_seconds(std::chrono::seconds(86400)),
                                            1};
    status.issued = 1;
    status.consecutive_failures = 4;
    return status;
  };
  start(std::move(callbacks));
  const Response response = get(port_, "/stats/prometheus");
  ASSERT_EQ(response.result_int(), 200) << response.body();
  EXPECT_EQ(response[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
  const std::string& body = response.body();
  for (std::string_view line :
       {"# TYPE weft_proxy_tls_plaintext_refused_total counter\n",
        "\nweft_proxy_tls_plaintext_refused_total 2\n", "\nweft_proxy_authz_denied_total 9\n",
        "\nweft_proxy_tls_handshake_failures_total 0\n",
        "\nweft_proxy_certificate_state{state=\"EXPIRING\"} 1\n",
        "\nweft_proxy_certificate_state{state=\"VALID\"} 0\n",
        "\nweft_proxy_certificate_expiry_timestamp_seconds 86400\n",
        "\nweft_proxy_certificate_issued_total 1\n",
        "\nweft_proxy_certificate_consecutive_failures 4\n"}) {
    EXPECT_NE(body.find(line), std::string::npos) << line << "\n" << body;
  }
  // Values are read at each scrape, not cached.
  get(port_, "/stats/prometheus");
  stopServer();
  EXPECT_EQ(scrapes, 2);
}

TEST_F(AdminServerTest, PrometheusStatsWithoutACertificateHasNoCertificateMetrics) {
  AdminCallbacks callbacks = liveCallbacks();
  callbacks.security_counters = [] { return SecurityCounterValues{}; };
  start(std::move(callbacks));
  const Response response = get(port_, "/stats/prometheus");
  ASSERT_EQ(response.result_int(), 200);
  EXPECT_NE(response.body().find("\nweft_proxy_authz_denied_total 0\n"), std::string::npos);
  EXPECT_EQ(response.body().find("weft_proxy_certificate"), std::string::npos);
}

TEST_F(AdminServerTest, PrometheusStatsIsReadOnlyAndTakesNoParameters) {
  AdminCallbacks callbacks = liveCallbacks();
  callbacks.security_counters = [] { return SecurityCounterValues{}; };
  start(std::move(callbacks));
  Response response = post(port_, "/stats/prometheus");
  EXPECT_EQ(response.result_int(), 405);
  EXPECT_EQ(response[http::field::allow], "GET, HEAD");
  response = get(port_, "/stats/prometheus?usedonly");
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_NE(response.body().find("usedonly"), std::string::npos);
  // HEAD: the headers a GET would have, no body.
  response = Client(port_).request(http::verb::head, "/stats/prometheus");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(response[http::field::content_length], "0");
}

AdminCallbacks withClusters(AdminCallbacks callbacks) {
  callbacks.clusters = [](AdminCallbacks::ClustersDone done) {
    done({{"backend",
           false,
           {{"10.0.0.7:8080", 2, EndpointHealth::kHealthy, 5},
            {"10.0.0.8:8080", 1, EndpointHealth::kUnhealthy, 0}}}});
  };
  return callbacks;
}

TEST_F(AdminServerTest, ClustersAsText) {
  start(withClusters(liveCallbacks()));
  const Response response = get(port_, "/clusters");
  ASSERT_EQ(response.result_int(), 200);
  EXPECT_EQ(response[http::field::content_type], "text/plain; charset=utf-8");
  EXPECT_EQ(response.body(),
            "backend::added_via_api::false\n"
            "backend::10.0.0.7:8080::weight::2\n"
            "backend::10.0.0.7:8080::health_flags::healthy\n"
            "backend::10.0.0.7:8080::rq_active::5\n"
            "backend::10.0.0.8:8080::weight::1\n"
            "backend::10.0.0.8:8080::health_flags::unhealthy\n"
            "backend::10.0.0.8:8080::rq_active::0\n");
}

TEST_F(AdminServerTest, ClustersAsJson) {
  start(withClusters(liveCallbacks()));
  const Response response = get(port_, "/clusters?format=json");
  ASSERT_EQ(response.result_int(), 200);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  const boost::json::value clusters = boost::json::parse(response.body());
  const auto& endpoint = clusters.at("clusters").at(0).at("endpoints").at(0);
  EXPECT_EQ(endpoint.at("address"), "10.0.0.7:8080");
  EXPECT_EQ(endpoint.at("weight").to_number<int>(), 2);
  EXPECT_EQ(endpoint.at("health"), "healthy");
  EXPECT_EQ(endpoint.at("active_requests").to_number<int>(), 5);
}

TEST_F(AdminServerTest, ClustersWithAnUnknownFormatIs400AndCloses) {
  start(withClusters(liveCallbacks()));
  Client client(port_);
  const Response response = client.request(http::verb::get, "/clusters?format=xml");
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_NE(response.body().find("text or json"), std::string::npos);
  EXPECT_FALSE(response.keep_alive());
  EXPECT_TRUE(client.closedByServer());
}

TEST_F(AdminServerTest, ClustersProviderMayAnswerFromAnotherThread) {
  AdminCallbacks callbacks = liveCallbacks();
  std::mutex mutex;
  std::vector<std::thread> helpers;
  callbacks.clusters = [&](AdminCallbacks::ClustersDone done) {
    std::lock_guard lock(mutex);
    helpers.emplace_back([done] { done({{"remote", true, {}}}); });
  };
  start(std::move(callbacks));
  const Response response = get(port_, "/clusters");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "remote::added_via_api::true\n");
  std::lock_guard lock(mutex);
  for (auto& helper : helpers) {
    helper.join();
  }
}

TEST_F(AdminServerTest, ClustersProviderThatNeverAnswersGives503) {
  AdminCallbacks callbacks = liveCallbacks();
  AdminCallbacks::ClustersDone kept;
  callbacks.clusters = [&kept](AdminCallbacks::ClustersDone done) { kept = std::move(done); };
  AdminOptions options;
  options.provider_timeout = std::chrono::milliseconds(50);
  start(std::move(callbacks), options);
  const Response response = get(port_, "/clusters");
  EXPECT_EQ(response.result_int(), 503);
  EXPECT_NE(response.body().find("did not report"), std::string::npos);
  // A late answer is dropped without harm.
  ASSERT_TRUE(kept);
  kept({});
  EXPECT_EQ(get(port_, "/healthz").result_int(), 200);
}

TEST_F(AdminServerTest, ReadinessTurnsFromFalseToTrue) {
  std::atomic<bool> ready{false};
  AdminCallbacks callbacks;
  callbacks.status = [&ready] {
    return ready
               ? ProxyStatus{ServerState::kLive, "", 2}
               : ProxyStatus{ServerState::kInitializing, "waiting for the workload certificate", 2};
  };
  start(std::move(callbacks));

  Response response = get(port_, "/ready");
  EXPECT_EQ(response.result_int(), 503);
  EXPECT_EQ(response.body(), "INITIALIZING: waiting for the workload certificate\n");
  EXPECT_EQ(get(port_, "/healthz").result_int(), 200);

  ready = true;
  response = get(port_, "/ready");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "LIVE\n");
}

TEST_F(AdminServerTest, HealthzFailsWhileDraining) {
  AdminCallbacks callbacks;
  callbacks.status = [] { return ProxyStatus{ServerState::kDraining, "", 1}; };
  start(std::move(callbacks));
  const Response health = get(port_, "/healthz");
  EXPECT_EQ(health.result_int(), 503);
  EXPECT_NE(health.body().find("DRAINING"), std::string::npos);
  EXPECT_EQ(get(port_, "/ready").result_int(), 503);
}

TEST_F(AdminServerTest, ServerInfoReportsVersionStateUptimeAndConcurrency) {
  start(liveCallbacks());
  const Response response = get(port_, "/server_info");
  ASSERT_EQ(response.result_int(), 200);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  const boost::json::value info = boost::json::parse(response.body());
  EXPECT_EQ(info.at("version").as_string(), std::string(weft::version()).c_str());
  EXPECT_EQ(info.at("commit").as_string(), std::string(weft::gitCommit()).c_str());
  EXPECT_EQ(info.at("state"), "LIVE");
  EXPECT_EQ(info.at("concurrency").to_number<int>(), 3);
  EXPECT_GE(info.at("uptime_seconds").to_number<int64_t>(), 0);
  EXPECT_EQ(info.at("log_level"), "info");
  EXPECT_FALSE(info.as_object().contains("config_source"));  // not given: not shown
}

TEST_F(AdminServerTest, ServerInfoAndConfigDumpNameTheBootstrapSource) {
  AdminCallbacks callbacks;
  callbacks.status = [] { return ProxyStatus{ServerState::kLive, "", 1, "$WEFT_BOOTSTRAP"}; };
  auto bootstrap = std::make_shared<const weft::v1::Bootstrap>(sampleBootstrap());
  callbacks.config_dump = [bootstrap] {
    return std::optional<ConfigDump>(
        ConfigDump{bootstrap, "static-0", std::chrono::system_clock::now(), "$WEFT_BOOTSTRAP"});
  };
  start(std::move(callbacks));
  const boost::json::value info = boost::json::parse(get(port_, "/server_info").body());
  EXPECT_EQ(info.at("config_source"), "$WEFT_BOOTSTRAP");
  const boost::json::value dump = boost::json::parse(get(port_, "/config_dump").body());
  EXPECT_EQ(dump.at("config_source"), "$WEFT_BOOTSTRAP");
}

TEST_F(AdminServerTest, LoggingShowsTheActiveLevel) {
  weft::log::setLogLevel(spdlog::level::warn);
  start(liveCallbacks());
  const Response response = get(port_, "/logging");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_NE(response.body().find("active level: warning"), std::string::npos) << response.body();
  EXPECT_NE(response.body().find("trace debug info warning error critical off"), std::string::npos);
}

TEST_F(AdminServerTest, LoggingPostSetsTheLevelOfEveryLogger) {
  weft::log::setLogLevel(spdlog::level::info);
  spdlog::logger& component = weft::log::logger("admin-test-component");
  start(liveCallbacks());
  const Response response = post(port_, "/logging?level=DEBUG");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "log level set to debug (was info)\n");
  EXPECT_EQ(weft::log::logLevel(), spdlog::level::debug);
  EXPECT_EQ(component.level(), spdlog::level::debug);
  EXPECT_NE(get(port_, "/logging").body().find("active level: debug"), std::string::npos);
}

TEST_F(AdminServerTest, LoggingRefusesBadRequestsAndKeepsTheLevel) {
  weft::log::setLogLevel(spdlog::level::info);
  start(liveCallbacks());

  Response response = post(port_, "/logging?level=loud");
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_NE(response.body().find("unknown log level 'loud'"), std::string::npos);
  EXPECT_NE(response.body().find("trace debug info warning error critical off"), std::string::npos);

  response = post(port_, "/logging");
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_NE(response.body().find("?level="), std::string::npos);

  response = post(port_, "/logging?xds=debug");
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_NE(response.body().find("unknown query parameter 'xds'"), std::string::npos);

  // A GET never changes anything.
  response = get(port_, "/logging?level=debug");
  EXPECT_EQ(response.result_int(), 405);
  EXPECT_EQ(response[http::field::allow], "POST");

  EXPECT_EQ(weft::log::logLevel(), spdlog::level::info);
}

TEST_F(AdminServerTest, DrainInvokesTheCallbackOnceAndTurnsNotReady) {
  std::atomic<int> drains{0};
  AdminCallbacks callbacks = liveCallbacks();
  callbacks.drain = [&drains] { ++drains; };
  start(std::move(callbacks));

  EXPECT_EQ(get(port_, "/ready").result_int(), 200);
  Response response = post(port_, "/drain_listeners");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(drains, 1);  // invoked before the response was sent
  response = post(port_, "/drain");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "already draining\n");
  EXPECT_EQ(drains, 1);

  response = get(port_, "/ready");
  EXPECT_EQ(response.result_int(), 503);
  EXPECT_NE(response.body().find("DRAINING"), std::string::npos);
  EXPECT_EQ(get(port_, "/healthz").result_int(), 503);
  const boost::json::value info = boost::json::parse(get(port_, "/server_info").body());
  EXPECT_EQ(info.at("state"), "DRAINING");
}

TEST_F(AdminServerTest, QuitAnswersThenInvokesTheCallbackWhichMayStopTheServer) {
  std::atomic<int> quits{0};
  AdminCallbacks callbacks = liveCallbacks();
  callbacks.quit = [this, &quits] {
    ++quits;
    server_->stop();  // what the proxy does: the main loop then runs out of work
  };
  start(std::move(callbacks));

  Client client(port_);
  const Response response = client.request(http::verb::post, "/quitquitquit");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_FALSE(response.keep_alive());
  EXPECT_TRUE(client.closedByServer());
  ASSERT_TRUE(waitForServerExit());
  EXPECT_EQ(quits, 1);
}

TEST_F(AdminServerTest, CrossOriginPostsAreRefused) {
  std::atomic<int> drains{0};
  AdminCallbacks callbacks = liveCallbacks();
  callbacks.drain = [&drains] { ++drains; };
  start(std::move(callbacks));

  Response response = post(port_, "/drain_listeners", {{"Origin", "http://evil.example"}});
  EXPECT_EQ(response.result_int(), 403);
  EXPECT_EQ(drains, 0);
  response = post(port_, "/logging?level=trace", {{"Origin", "null"}});
  EXPECT_EQ(response.result_int(), 403);
  EXPECT_NE(weft::log::logLevel(), spdlog::level::trace);

  response = post(port_, "/drain_listeners", {{"Origin", "http://127.0.0.1:15000"}});
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(drains, 1);
}

TEST_F(AdminServerTest, DnsHostNamesAreRefused) {
  start(liveCallbacks());
  Response response =
      Client(port_).request(http::verb::get, "/ready", {{"Host", "rebound.evil.example"}});
  EXPECT_EQ(response.result_int(), 403);
  response = Client(port_).request(http::verb::get, "/ready", {{"Host", "localhost:15000"}});
  EXPECT_EQ(response.result_int(), 200);
}

TEST_F(AdminServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start(liveCallbacks());
  Client client(port_);
  for (std::string_view target : {"/ready", "/healthz", "/server_info", "/logging", "/"}) {
    const Response response = client.request(http::verb::get, target);
    EXPECT_EQ(response.result_int(), 200) << target;
    EXPECT_TRUE(response.keep_alive()) << target;
  }
}

TEST_F(AdminServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start(liveCallbacks());
  Client client(port_);
  client.sendRaw(
      "GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
      "GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  auto first = client.read();
  auto second = client.read();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->result_int(), 200);
  EXPECT_EQ(second->result_int(), 404);
}

TEST_F(AdminServerTest, HeadSendsHeadersOnly) {
  start(liveCallbacks());
  Client client(port_);
  const Response response = client.request(http::verb::head, "/ready");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response[http::field::content_length], "5");
  // The connection stays usable: no stray body bytes precede the next answer.
  EXPECT_EQ(client.request(http::verb::get, "/ready").body(), "LIVE\n");
}

TEST_F(AdminServerTest, Http10RequestIsAnsweredAndClosed) {
  start(liveCallbacks());
  Client client(port_);
  client.sendRaw("GET /healthz HTTP/1.0\r\n\r\n");
  const auto response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 200);
  EXPECT_EQ(response->version(), 10u);
  EXPECT_TRUE(client.closedByServer());
}

TEST_F(AdminServerTest, MalformedRequestsGet400AndAClose) {
  start(liveCallbacks());
  for (std::string_view raw : {"NOT HTTP AT ALL\r\n\r\n",
                               "GET /ready HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                               "Content-Length: 2\r\n\r\nab",
                               "GET ready HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                               "GET /clusters?format=%zz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                               "GET /ready?verbose=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"}) {
    Client client(port_);
    client.sendRaw(raw);
    const auto response = client.read();
    ASSERT_TRUE(response) << raw;
    EXPECT_EQ(response->result_int(), 400) << raw;
    EXPECT_FALSE(response->body().empty()) << raw;
    EXPECT_TRUE(client.closedByServer()) << raw;
  }
  // The server is unharmed.
  EXPECT_EQ(get(port_, "/ready").result_int(), 200);
}

TEST_F(AdminServerTest, OversizedHeadersGet431) {
  start(liveCallbacks());
  Client client(port_);
  client.sendRaw("GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(9000, 'a') +
                 "\r\n\r\n");
  const auto response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 431);
  EXPECT_TRUE(client.closedByServer());
}

TEST_F(AdminServerTest, OversizedBodyGets413) {
  start(liveCallbacks());
  Client client(port_);
  client.sendRaw("POST /drain HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n");
  const auto response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 413);
}

TEST_F(AdminServerTest, IncompleteRequestTimesOutWith408) {
  AdminOptions options;
  options.request_timeout = std::chrono::milliseconds(100);
  start(liveCallbacks(), options);
  Client client(port_);
  client.sendRaw("GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  const auto response = client.read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->result_int(), 408);
  EXPECT_TRUE(client.closedByServer());
}

TEST_F(AdminServerTest, ExceptionInACallbackGives500AndTheServerGoesOn) {
  AdminCallbacks callbacks = liveCallbacks();
  callbacks.config_dump = []() -> std::optional<ConfigDump> {
    throw std::runtime_error("snapshot unavailable");
  };
  start(std::move(callbacks));
  const Response response = get(port_, "/config_dump");
  EXPECT_EQ(response.result_int(), 500);
  EXPECT_NE(response.body().find("snapshot unavailable"), std::string::npos);
  EXPECT_EQ(get(port_, "/ready").result_int(), 200);
}

TEST_F(AdminServerTest, ConnectionsBeyondTheLimitAreRefusedWith503) {
  AdminOptions options;
  options.max_connections = 2;
  start(liveCallbacks(), options);
  // A completed request proves the server has accepted (and counts) each connection.
  Client first(port_);
  Client second(port_);
  EXPECT_EQ(first.request(http::verb::get, "/ready").result_int(), 200);
  EXPECT_EQ(second.request(http::verb::get, "/ready").result_int(), 200);
  Client third(port_);
  const auto refused = third.read();
  ASSERT_TRUE(refused) << third.error().message();
  EXPECT_EQ(refused->result_int(), 503);
  EXPECT_NE(refused->body().find("too many admin connections"), std::string::npos);
}

TEST_F(AdminServerTest, StopEndsIdleConnectionsAndPendingWaits) {
  AdminCallbacks callbacks = liveCallbacks();
  callbacks.clusters = [](AdminCallbacks::ClustersDone) {};  // never answers
  start(std::move(callbacks));
  Client idle(port_);
  EXPECT_EQ(idle.request(http::verb::get, "/ready").result_int(), 200);
  Client waiting(port_);
  waiting.send(http::verb::get, "/clusters");
  // stopServer() fails the test if anything keeps the io_context busy (the provider
  // timeout is 5 s, the idle timeout 60 s: far beyond what stop() may take).
  stopServer();
  EXPECT_TRUE(idle.closedByServer());
}

// The proxy may give up between listen() and running its loop (a later bind fails): the
// server and its never-started accept loop must then go away cleanly.
TEST(AdminServerLifetimeTest, DestroyedWithoutEverRunning) {
  asio::io_context io;
  AdminOptions options;
  options.address = tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0);
  auto server = std::make_unique<AdminServer>(io, options, AdminCallbacks{});
  ASSERT_EQ(server->listen(), "");
  server.reset();
  io.run();  // the accept loop starts, finds the server stopped, and ends
}

TEST(AdminServerLifetimeTest, IoContextDestroyedWithCoroutinesPending) {
  asio::io_context io;
  {
    AdminOptions options;
    options.address = tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0);
    AdminServer server(io, options, AdminCallbacks{});
    ASSERT_EQ(server.listen(), "");
    Client client(server.port());  // accepted once the loop runs
    io.run_for(std::chrono::milliseconds(20));
  }
  // The io_context is destroyed without running again: the suspended accept loop and
  // connection coroutines are destroyed with it and release the server's state.
}

TEST_F(AdminServerTest, ListenReportsABusyPort) {
  start(liveCallbacks());
  AdminOptions options;
  options.address = tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_);
  asio::io_context other;
  AdminServer second(other, options, {});
  const std::string error = second.listen();
  EXPECT_NE(error.find("cannot listen on 127.0.0.1:" + std::to_string(port_)), std::string::npos)
      << error;
}

// The status port's /app-health/<key>: the proxy's probe decides, the endpoint maps its outcome
// to 200, 503 (one line saying why) or 404.
TEST_F(AdminServerTest, AppHealthAnswersWithTheProbesOutcome) {
  AdminCallbacks callbacks = liveCallbacks();
  std::vector<std::string> asked;
  callbacks.app_probe =
      [&asked](const std::string& key) -> asio::awaitable<std::optional<AppProbeOutcome>> {
    asked.push_back(key);
    if (key == "app/livez") {
      co_return AppProbeOutcome{true, ""};
    }
    if (key == "app/readyz") {
      co_return AppProbeOutcome{false, "GET /ready answered 500\nand more"};
    }
    co_return std::nullopt;
  };
  AdminOptions options;
  options.role = AdminRole::kStatus;
  start(std::move(callbacks), options);

  Response response = get(port_, "/app-health/app/livez");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "app/livez: OK\n");
  response = get(port_, "/app-health/app/readyz");
  EXPECT_EQ(response.result_int(), 503);
  EXPECT_EQ(response.body(), "app/readyz: GET /ready answered 500 and more\n");
  response = get(port_, "/app-health/worker/startupz");
  EXPECT_EQ(response.result_int(), 404);
  EXPECT_NE(response.body().find("no application probe named 'worker/startupz'"),
            std::string::npos);
  EXPECT_EQ(asked, (std::vector<std::string>{"app/livez", "app/readyz", "worker/startupz"}));
  // Reads only, no parameters, and the prefix alone names no probe.
  EXPECT_EQ(post(port_, "/app-health/app/livez").result_int(), 405);
  EXPECT_EQ(get(port_, "/app-health/app/livez?verbose").result_int(), 400);
  EXPECT_EQ(get(port_, "/app-health/").result_int(), 404);
  EXPECT_EQ(get(port_, "/app-health").result_int(), 404);
  EXPECT_EQ(asked.size(), 4u);  // the empty key only, besides the three
  // The index lists it.
  EXPECT_NE(get(port_, "/").body().find("/app-health/<key>"), std::string::npos);
}

TEST_F(AdminServerTest, AppHealthIsOnTheStatusPortOnly) {
  AdminCallbacks callbacks = liveCallbacks();
  int asked = 0;
  callbacks.app_probe =
      [&asked](const std::string&) -> asio::awaitable<std::optional<AppProbeOutcome>> {
    ++asked;
    co_return AppProbeOutcome{true, ""};
  };
  start(std::move(callbacks));
  EXPECT_EQ(get(port_, "/app-health/app/livez").result_int(), 404);
  EXPECT_EQ(asked, 0);
}

TEST_F(AdminServerTest, AppHealthWithoutProbesIsNotFound) {
  AdminOptions options;
  options.role = AdminRole::kStatus;
  start(liveCallbacks(), options);
  EXPECT_EQ(get(port_, "/app-health/app/livez").result_int(), 404);
}

}  // namespace
}  // namespace weft::proxy::admin
