#include "proxy/upstream/health/health_probe.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>

#include "proxy/upstream/health/http2_health_probe.h"
#include "proxy/upstream/http1_upstream_io.h"

namespace weft::proxy {
namespace {

namespace asio = boost::asio;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

std::string timedOut(const HealthCheckConfig& config, std::string_view step) {
  return std::string(step) + " timed out after " + std::to_string(config.timeout.count()) + " ms";
}

}  // namespace

std::string healthCheckRequest(const HealthCheckConfig& config) {
  std::string request;
  request.reserve(128 + config.path.size() + config.host.size());
  request.append("GET ").append(config.path).append(" HTTP/1.1\r\nHost: ").append(config.host);
  request.append("\r\nUser-Agent: ").append(config.user_agent);
  request.append("\r\nConnection: close\r\n");
  for (const auto& [name, value] : config.request_headers) {
    request.append(name).append(": ").append(value).append("\r\n");
  }
  request.append("\r\n");
  return request;
}

asio::awaitable<ProbeResult> probeEndpoint(UpstreamConnection& connection,
                                           const HealthCheckConfig& config,
                                           const asio::ip::tcp::endpoint& address,
                                           const UpstreamTransport& transport,
                                           TlsSessionCache& tls_sessions) {
  const auto deadline = std::chrono::steady_clock::now() + config.timeout;
  const bool http2 = config.http2 || config.probe == HealthCheckConfig::Probe::kGrpc;
  std::string failure =
      co_await connectUpstream(connection, address, transport, tls_sessions, config.timeout,
                               deadline, http2 ? kMeshAlpnHttp2 : kMeshAlpnHttp1);
  if (!failure.empty()) {
    co_return ProbeResult{false, std::move(failure)};
  }
  if (config.probe == HealthCheckConfig::Probe::kTcp) {
    co_return ProbeResult{true, {}};
  }
  if (http2) {
    co_return co_await probeOverHttp2(connection, config, transport.tls != nullptr, deadline);
  }
  connection.stream.expires_at(deadline);
  connection.head_buffer = healthCheckRequest(config);
  auto [write_error, written] = co_await asio::async_write(
      connection.stream, asio::buffer(connection.head_buffer), kUseTuple);
  if (write_error) {
    co_return ProbeResult{false,
                          write_error == boost::beast::error::timeout
                              ? timedOut(config, "sending GET " + config.path)
                              : "sending GET " + config.path + " failed: " + write_error.message()};
  }
  const ResponseHeadRead read = co_await readFinalResponseHeader(connection, false);
  if (read.error) {
    co_return ProbeResult{false,
                          read.error == boost::beast::error::timeout
                              ? timedOut(config, "GET " + config.path)
                              : "GET " + config.path + " got no response: " + read.error.message()};
  }
  const unsigned status = connection.response->get().result_int();
  if (!config.expectedStatus(status)) {
    co_return ProbeResult{false, "GET " + config.path + " answered " + std::to_string(status)};
  }
  co_return ProbeResult{true, {}};
}

}  // namespace weft::proxy
