#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "proxy/upstream/health/health_check_config.h"
#include "weft/v1/bootstrap.pb.h"

namespace weft::proxy {

// One of the application's probes (StatusServer.app_probes), ready to run against
// 127.0.0.1:`port`. The probe itself is the active health checker's (`check`), whose rules are
// the kubelet's: HTTP passes on 200-399 without following redirects, gRPC on SERVING, TCP on a
// completed connect.
struct AppProbeConfig {
  uint16_t port = 0;
  bool https = false;  // http_get with scheme HTTPS: TLS, certificate not verified
  HealthCheckConfig check;
};

// By key; looked up with the key of a request path, hence the transparent comparator.
using AppProbes = std::map<std::string, AppProbeConfig, std::less<>>;

// What the kubelet's probes say they are; some applications leave them out of access logs.
inline constexpr std::string_view kAppProbeUserAgent = "kube-probe/weft";

// Reads status_server.app_probes of a bootstrap whose declared rules have been checked (ports,
// key characters, path pattern). Returns what those rules cannot say, naming the field, e.g.
// `status_server.app_probes["app/livez"].http_get.headers[0]: "connection" is set by the probe
// itself`; empty when `out` holds every probe.
std::string readAppProbes(const weft::v1::StatusServer& status, AppProbes& out);

}  // namespace weft::proxy
