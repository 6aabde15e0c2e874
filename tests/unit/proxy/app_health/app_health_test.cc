// The status port's application probes: the bootstrap's rules and the checks beyond them
// (AppProbeConfig), and AppHealthProber against small servers on 127.0.0.1 that answer well,
// badly, never, or endlessly.

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/config/yaml_to_proto.h"
#include "proxy/app_health/app_health_prober.h"
#include "proxy/app_health/app_probe_config.h"
#include "weft/v1/bootstrap.pb.h"

namespace weft::proxy {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
// A bound on every wait, far above what any step takes; never a measure of speed.
constexpr auto kPatience = 20s;

// The status_server block of the injected sidecar's bootstrap.
constexpr std::string_view kInjected = R"(
node: {id: web-7d9f8-abcde.shop}
status_server:
  address: {address: 0.0.0.0, port: 15020}
  app_probes:
    "app/livez": {http_get: {port: 8080, path: /healthz}, timeout: 1s}
    "app/readyz": {tcp_socket: {port: 8080}, timeout: 1s}
    "worker/startupz": {grpc: {port: 9090, service: ""}, timeout: 1s}
)";

// Loads `text` as a bootstrap: the declared rules' errors, one per line.
std::string loadErrors(std::string_view text, weft::v1::Bootstrap& bootstrap) {
  return config::formatErrors(config::loadYaml(text, "bootstrap.yaml", bootstrap));
}

// The errors of a bootstrap whose status server has only `probes` (a YAML map), one per line.
std::string probeErrors(const std::string& probes) {
  weft::v1::Bootstrap bootstrap;
  return loadErrors("node: {id: a}\nstatus_server:\n  app_probes: " + probes + "\n", bootstrap);
}

// What readAppProbes says of probes that pass the declared rules.
std::string readErrors(const std::string& probes) {
  weft::v1::Bootstrap bootstrap;
  const std::string rules =
      loadErrors("node: {id: a}\nstatus_server:\n  app_probes: " + probes + "\n", bootstrap);
  EXPECT_EQ(rules, "");
  AppProbes out;
  return readAppProbes(bootstrap.status_server(), out);
}

TEST(AppProbeConfigTest, ReadsTheInjectedProbesWithTheirDefaults) {
  weft::v1::Bootstrap bootstrap;
  ASSERT_EQ(loadErrors(kInjected, bootstrap), "");
  AppProbes probes;
  ASSERT_EQ(readAppProbes(bootstrap.status_server(), probes), "");
  ASSERT_EQ(probes.size(), 3u);

  const AppProbeConfig& live = probes.at("app/livez");
  EXPECT_EQ(live.port, 8080);
  EXPECT_FALSE(live.https);
  EXPECT_EQ(live.check.probe, HealthCheckConfig::Probe::kHttp);
  EXPECT_EQ(live.check.path, "/healthz");
  EXPECT_EQ(live.check.host, "127.0.0.1:8080");
  EXPECT_EQ(live.check.user_agent, "kube-probe/weft");
  EXPECT_EQ(live.check.timeout, 1000ms);
  // The kubelet's success: 200 to 399, redirects included.
  EXPECT_TRUE(live.check.expectedStatus(200));
  EXPECT_TRUE(live.check.expectedStatus(302));
  EXPECT_FALSE(live.check.expectedStatus(404));
  EXPECT_FALSE(live.check.expectedStatus(500));

  EXPECT_EQ(probes.at("app/readyz").check.probe, HealthCheckConfig::Probe::kTcp);
  EXPECT_EQ(probes.at("app/readyz").port, 8080);
  const AppProbeConfig& startup = probes.at("worker/startupz");
  EXPECT_EQ(startup.check.probe, HealthCheckConfig::Probe::kGrpc);
  EXPECT_EQ(startup.port, 9090);
  EXPECT_EQ(startup.check.grpc_service, "");
}

TEST(AppProbeConfigTest, HttpDefaultsAndSettings) {
  weft::v1::Bootstrap bootstrap;
  ASSERT_EQ(loadErrors(R"(
node: {id: a}
status_server:
  app_probes:
    plain: {http_get: {port: 80}}
    tls:
      http_get:
        port: 8443
        path: /ready?full=1
        scheme: HTTPS
        host: app.shop.svc
        headers: [{name: X-Probe, value: "yes"}, {name: User-Agent, value: my-probe}]
      timeout: 250ms
)",
                       bootstrap),
            "");
  AppProbes probes;
  ASSERT_EQ(readAppProbes(bootstrap.status_server(), probes), "");
  EXPECT_EQ(probes.at("plain").check.path, "/");
  EXPECT_EQ(probes.at("plain").check.timeout, 1000ms);
  const AppProbeConfig& tls = probes.at("tls");
  EXPECT_TRUE(tls.https);
  EXPECT_EQ(tls.check.path, "/ready?full=1");
  EXPECT_EQ(tls.check.host, "app.shop.svc");
  EXPECT_EQ(tls.check.timeout, 250ms);
  EXPECT_EQ(tls.check.user_agent, "my-probe");
  ASSERT_EQ(tls.check.request_headers.size(), 1u);
  EXPECT_EQ(tls.check.request_headers[0].first, "x-probe");
  EXPECT_EQ(tls.check.request_headers[0].second, "yes");
}

TEST(AppProbeConfigTest, TheRulesNameTheField) {
  const std::string prefix = "status_server.app_probes[\"a\"]";
  EXPECT_NE(probeErrors("{a: {http_get: {path: /}}}").find(prefix + ".http_get.port: is required"),
            std::string::npos);
  EXPECT_NE(probeErrors("{a: {tcp_socket: {port: 70000}}}")
                .find(prefix + ".tcp_socket.port: must be at most 65535, got 70000"),
            std::string::npos);
  EXPECT_NE(probeErrors("{a: {grpc: {port: 0}}}").find(prefix + ".grpc.port: is required"),
            std::string::npos);
  EXPECT_NE(probeErrors("{a: {http_get: {port: 80, path: healthz}}}")
                .find(prefix + ".http_get.path: \"healthz\" does not match the pattern"),
            std::string::npos);
  EXPECT_NE(probeErrors("{a: {http_get: {port: 80, path: \"/a b\"}}}")
                .find(prefix + ".http_get.path: \"/a b\" does not match the pattern"),
            std::string::npos);
  EXPECT_NE(probeErrors("{a: {timeout: 1s}}")
                .find(prefix + ": one of http_get, tcp_socket, grpc "
                               "is required"),
            std::string::npos);
  EXPECT_NE(probeErrors("{a: {tcp_socket: {port: 1}, grpc: {port: 1}}}")
                .find(prefix + ".grpc: only one of the 'probe' fields may be set"),
            std::string::npos);
  EXPECT_NE(probeErrors("{a: {tcp_socket: {port: 1}, timeout: 0s}}")
                .find(prefix + ".timeout: must be at least 1ms"),
            std::string::npos);
  EXPECT_NE(probeErrors("{a: {tcp_socket: {port: 1}, timeout: 301s}}")
                .find(prefix + ".timeout: must be at most 5m"),
            std::string::npos);
  // Keys become part of a URL path: letters, digits and . _ / - only.
  for (const std::string key : {"app livez", "app?x", "app%2F", "", "caf\xc3\xa9"}) {
    EXPECT_NE(probeErrors("{\"" + key + "\": {tcp_socket: {port: 1}}}")
                  .find("the key \"" + key + "\" does not match the pattern"),
              std::string::npos)
        << key;
  }
  EXPECT_EQ(probeErrors("{\"Web-1_a.b/c-d\": {tcp_socket: {port: 1}}}"), "");
  std::string many = "{";
  for (int i = 0; i < 65; ++i) {
    many +=
        (i == 0 ? "" : ", ") + std::string("p") + std::to_string(i) + ": {tcp_socket: {port: 1}}";
  }
  EXPECT_NE(probeErrors(many + "}").find("allows at most 64 entries, has 65"), std::string::npos);
}

TEST(AppProbeConfigTest, HeadersTheProbeSetsItselfAreRefused) {
  const std::string headers = "status_server.app_probes[\"a\"].http_get.headers[0]";
  EXPECT_EQ(readErrors("{a: {http_get: {port: 80, headers: [{name: Host, value: x}]}}}"),
            headers + ": set the Host header with http_get.host");
  for (const std::string name : {"Connection", "Content-Length", "Transfer-Encoding", "TE"}) {
    std::string lower = name;
    for (char& c : lower) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    EXPECT_EQ(readErrors("{a: {http_get: {port: 80, headers: [{name: " + name + ", value: x}]}}}"),
              headers + ": \"" + lower + "\" is set by the probe itself");
  }
  EXPECT_EQ(readErrors("{a: {http_get: {port: 80, headers: [{name: X, value: \"a\\x01b\"}]}}}"),
            headers + ".value: must not contain control characters");
}

// One connection's worth of a server on 127.0.0.1: accepts, reads the request head, then does
// what the test says. Runs on the test's io_context.
class FakeApp {
 public:
  enum class Behaviour { kAnswer, kSilent, kEndlessHeader, kCloseAtOnce };

  FakeApp(asio::io_context& io, Behaviour behaviour, std::string answer = {})
      : acceptor_(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)),
        behaviour_(behaviour),
        answer_(std::move(answer)) {
    asio::co_spawn(io, serve(), asio::detached);
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  const std::string& request() const { return request_; }
  bool accepted() const { return accepted_; }
  // Closes everything, so the loop runs out of work.
  void close() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    if (socket_) {
      socket_->close(ignored);
    }
  }

 private:
  asio::awaitable<void> serve() {
    auto [error, socket] = co_await acceptor_.async_accept(kUseTuple);
    if (error) {
      co_return;
    }
    accepted_ = true;
    socket_.emplace(std::move(socket));
    if (behaviour_ == Behaviour::kCloseAtOnce) {
      socket_->close();
      co_return;
    }
    asio::streambuf head;
    auto [read_error, bytes] =
        co_await asio::async_read_until(*socket_, head, "\r\n\r\n", kUseTuple);
    if (read_error) {
      co_return;
    }
    request_.assign(asio::buffers_begin(head.data()), asio::buffers_begin(head.data()) + bytes);
    switch (behaviour_) {
      case Behaviour::kAnswer:
        co_await asio::async_write(*socket_, asio::buffer(answer_), kUseTuple);
        break;
      case Behaviour::kSilent: {
        std::array<char, 64> sink;
        co_await socket_->async_read_some(asio::buffer(sink), kUseTuple);  // until closed
        break;
      }
      case Behaviour::kEndlessHeader: {
        // A header block that never ends: the probe must stop reading at its limit.
        const std::string start = "HTTP/1.1 200 OK\r\n";
        co_await asio::async_write(*socket_, asio::buffer(start), kUseTuple);
        const std::string line = "X-Filler: " + std::string(1000, 'a') + "\r\n";
        for (int i = 0; i < 1000; ++i) {
          auto [write_error, written] =
              co_await asio::async_write(*socket_, asio::buffer(line), kUseTuple);
          if (write_error) {
            break;
          }
        }
        break;
      }
      case Behaviour::kCloseAtOnce:
        break;
    }
  }

  tcp::acceptor acceptor_;
  Behaviour behaviour_;
  std::string answer_;
  std::optional<tcp::socket> socket_;
  std::string request_;
  bool accepted_ = false;
};

class AppHealthProberTest : public ::testing::Test {
 protected:
  static AppProbeConfig http(uint16_t port, std::chrono::milliseconds timeout = 5000ms) {
    AppProbeConfig config;
    config.port = port;
    config.check.probe = HealthCheckConfig::Probe::kHttp;
    config.check.path = "/healthz";
    config.check.host = "127.0.0.1:" + std::to_string(port);
    config.check.user_agent = std::string(kAppProbeUserAgent);
    config.check.timeout = timeout;
    return config;
  }

  static AppProbeConfig tcpConnect(uint16_t port) {
    AppProbeConfig config;
    config.port = port;
    config.check.probe = HealthCheckConfig::Probe::kTcp;
    config.check.timeout = 5000ms;
    return config;
  }

  // A port nothing listens on: bound, then closed.
  uint16_t closedPort() {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    return acceptor.local_endpoint().port();
  }

  // Runs probe(key) to its end (bounded by kPatience); `during`, if given, runs on the loop
  // while the probe is in flight, once `ready` says so.
  std::optional<ProbeResult> run(AppHealthProber& prober, const std::string& key,
                                 std::function<bool()> ready = {},
                                 std::function<void()> during = {}) {
    std::optional<std::optional<ProbeResult>> outcome;
    asio::co_spawn(
        io_, [&]() -> asio::awaitable<void> { outcome = co_await prober.probe(key); },
        asio::detached);
    const auto give_up = std::chrono::steady_clock::now() + kPatience;
    bool done_during = !during;
    while (!outcome && std::chrono::steady_clock::now() < give_up) {
      io_.run_for(10ms);
      io_.restart();
      if (!done_during && ready()) {
        during();
        done_during = true;
      }
    }
    EXPECT_TRUE(outcome.has_value()) << "the probe did not end";
    return outcome ? *outcome : std::nullopt;
  }

  asio::io_context io_;
};

TEST_F(AppHealthProberTest, HttpPassesOn2xxAnd3xxWithTheRequestOfAKubeletProbe) {
  FakeApp ok(io_, FakeApp::Behaviour::kAnswer,
             "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
  FakeApp redirect(io_, FakeApp::Behaviour::kAnswer,
                   "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n");
  AppProbes probes;
  probes.emplace("app/livez", http(ok.port()));
  probes["app/livez"].check.request_headers.emplace_back("x-probe", "yes");
  probes.emplace("app/redirect", http(redirect.port()));
  AppHealthProber prober(io_, std::move(probes));

  auto result = run(prober, "app/livez");
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->success) << result->detail;
  EXPECT_EQ(ok.request().rfind("GET /healthz HTTP/1.1\r\n", 0), 0u) << ok.request();
  EXPECT_NE(ok.request().find("Host: 127.0.0.1:" + std::to_string(ok.port()) + "\r\n"),
            std::string::npos);
  EXPECT_NE(ok.request().find("User-Agent: kube-probe/weft\r\n"), std::string::npos);
  EXPECT_NE(ok.request().find("x-probe: yes\r\n"), std::string::npos);

  // Not followed: the redirect itself is the answer.
  result = run(prober, "app/redirect");
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->success) << result->detail;
}

TEST_F(AppHealthProberTest, HttpFailsOnAnErrorStatusNamingIt) {
  FakeApp failing(io_, FakeApp::Behaviour::kAnswer,
                  "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
  AppProbes probes;
  probes.emplace("app/livez", http(failing.port()));
  AppHealthProber prober(io_, std::move(probes));
  const auto result = run(prober, "app/livez");
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->success);
  EXPECT_EQ(result->detail, "GET /healthz answered 500");
}

TEST_F(AppHealthProberTest, ARefusedConnectionFails) {
  AppProbes probes;
  probes.emplace("http", http(closedPort()));
  probes.emplace("tcp", tcpConnect(probes.at("http").port));
  AppHealthProber prober(io_, std::move(probes));
  for (const std::string key : {"http", "tcp"}) {
    const auto result = run(prober, key);
    ASSERT_TRUE(result);
    EXPECT_FALSE(result->success);
    EXPECT_NE(result->detail.find("failed: Connection refused"), std::string::npos)
        << result->detail;
  }
}

TEST_F(AppHealthProberTest, TcpPassesOnceConnected) {
  FakeApp listening(io_, FakeApp::Behaviour::kCloseAtOnce);
  AppProbes probes;
  probes.emplace("tcp", tcpConnect(listening.port()));
  AppHealthProber prober(io_, std::move(probes));
  const auto result = run(prober, "tcp");
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->success) << result->detail;
}

TEST_F(AppHealthProberTest, ASilentApplicationFailsAtTheTimeout) {
  FakeApp silent(io_, FakeApp::Behaviour::kSilent);
  AppProbes probes;
  probes.emplace("slow", http(silent.port(), 50ms));
  AppHealthProber prober(io_, std::move(probes));
  const auto result = run(prober, "slow");
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->success);
  EXPECT_EQ(result->detail, "GET /healthz timed out after 50 ms");
  silent.close();
}

TEST_F(AppHealthProberTest, AnEndlessResponseHeaderFailsWithoutBeingKept) {
  FakeApp endless(io_, FakeApp::Behaviour::kEndlessHeader);
  AppProbes probes;
  probes.emplace("big", http(endless.port()));
  AppHealthProber prober(io_, std::move(probes));
  const auto result = run(prober, "big");
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->success);
  EXPECT_NE(result->detail.find("GET /healthz got no response"), std::string::npos)
      << result->detail;
  endless.close();
}

TEST_F(AppHealthProberTest, AnUnknownKeyIsNotAProbe) {
  AppHealthProber prober(io_, {});
  EXPECT_FALSE(run(prober, "app/livez").has_value());
}

TEST_F(AppHealthProberTest, StopEndsAProbeInFlightAndLaterOnesAtOnce) {
  FakeApp silent(io_, FakeApp::Behaviour::kSilent);
  AppProbes probes;
  probes.emplace("slow", http(silent.port(), 60'000ms));
  AppHealthProber prober(io_, std::move(probes));
  const auto result = run(
      prober, "slow", [&silent] { return !silent.request().empty(); },
      [&prober] { prober.stop(); });
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->success);
  EXPECT_EQ(result->detail, "the proxy is shutting down");
  const auto later = run(prober, "slow");
  ASSERT_TRUE(later);
  EXPECT_FALSE(later->success);
  EXPECT_EQ(later->detail, "the proxy is shutting down");
  silent.close();
}

}  // namespace
}  // namespace weft::proxy
