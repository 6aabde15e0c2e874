#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <string>

#include "proxy/tls/upstream_tls.h"
#include "proxy/upstream/health/health_check_config.h"
#include "proxy/upstream/http1_connection_pool.h"

namespace weft::proxy {

struct ProbeResult {
  bool success = false;
  // Why a probe failed, for the log line of a change to unhealthy ("GET /healthz answered
  // 503", "connecting to 127.0.0.1:8080 failed: Connection refused", "timed out after 1000
  // ms").
  std::string detail;
};

// One probe of `address` over `connection` (fresh, not yet connected, and closed by the
// caller afterwards; closing it from elsewhere ends the probe at once). TCP: the connection
// and, when `transport` says so, its TLS handshake. HTTP: then a GET of config.path on it,
// answered with an expected status. The whole probe must end within config.timeout.
boost::asio::awaitable<ProbeResult> probeEndpoint(UpstreamConnection& connection,
                                                  const HealthCheckConfig& config,
                                                  const boost::asio::ip::tcp::endpoint& address,
                                                  const UpstreamTransport& transport,
                                                  TlsSessionCache& tls_sessions);

// The request an HTTP probe sends: no body, and a connection used once.
std::string healthCheckRequest(const HealthCheckConfig& config);

}  // namespace weft::proxy
