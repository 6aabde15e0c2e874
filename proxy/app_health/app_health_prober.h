#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>

#include "proxy/app_health/app_probe_config.h"
#include "proxy/tls/tls_contexts.h"
#include "proxy/tls/tls_session_cache.h"
#include "proxy/upstream/health/health_probe.h"

namespace weft::proxy {

// Runs the application's probes on demand for the status server's GET /app-health/<key>: each
// request probes 127.0.0.1 at once, on the status server's own event loop, and ends within the
// probe's timeout whatever the application does (it only reads a bounded response head, or one
// gRPC answer of at most 1 KiB kept). The proxy's own connections to 127.0.0.1 are not
// captured by the pod's traffic rules, so the probe reaches the application even when the
// kubelet's connections to the pod IP would be refused (STRICT mTLS).
//
// Threading: construct, probe(), stop() and destroy on the io_context's thread. Probes in flight
// are bounded by the status server's connection limit (one per request).
class AppHealthProber {
 public:
  AppHealthProber(boost::asio::io_context& context, AppProbes probes);

  AppHealthProber(const AppHealthProber&) = delete;
  AppHealthProber& operator=(const AppHealthProber&) = delete;

  // Runs the probe named `key`: nullopt when there is none, else whether it passed and, when
  // not, why ("GET /healthz answered 500", "connecting to 127.0.0.1:8080 failed: Connection
  // refused", "GET /healthz timed out after 1000 ms"). `key` must outlive the call.
  boost::asio::awaitable<std::optional<ProbeResult>> probe(const std::string& key);

  // Ends the probes in flight at once (they fail), and fails any later one without probing:
  // the proxy is stopping, and the main loop must not wait for an application's timeout.
  void stop();

  size_t size() const { return probes_.size(); }

 private:
  boost::asio::io_context& context_;
  AppProbes probes_;
  // For HTTPS probes: TLS 1.2 or later, the certificate not verified (as the kubelet), ALPN
  // http/1.1. Built only when a probe needs it.
  std::unique_ptr<UpstreamTlsConfig> https_;
  TlsSessionCache tls_sessions_;
  std::unordered_set<UpstreamConnection*> in_flight_;
  bool stopped_ = false;
};

}  // namespace weft::proxy
