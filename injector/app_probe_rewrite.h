#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace weft::injector {

// One kubelet probe of an app container, moved behind the proxy's status port. Under STRICT
// mTLS the kubelet's plaintext probe to the app's port would be captured and refused as
// not mutual TLS, so the probe is rewritten to GET <status port>/app-health/<key>, a port
// the capture rules never redirect, and the proxy runs the original probe itself against
// 127.0.0.1, from its own uid, which is never captured either.
struct AppProbe {
  // "<container>/livez", "<container>/readyz" or "<container>/startupz".
  std::string key;
  // The original check as the bootstrap's StatusServer.app_probes entry (proto JSON names):
  // {"http_get": {...}} | {"tcp_socket": {...}} | {"grpc": {...}}, plus "timeout".
  boost::json::object check;
};

struct ProbeReplacement {
  size_t container_index = 0;
  std::string field;  // "livenessProbe", "readinessProbe" or "startupProbe"
  boost::json::object probe;
};

struct ProbeRewrite {
  std::vector<AppProbe> app_probes;
  std::vector<ProbeReplacement> replacements;
};

// The rewrites of the httpGet, tcpSocket and grpc probes of `containers` (a pod's
// spec.containers). Left as they are: exec probes (they run inside the container), probes
// with httpGet.host (they go to another host), and probes whose named port the container does
// not declare (the kubelet would fail them too), and HTTP probes the proxy could not send as
// written (a path or header outside its rules). Timing fields are kept.
ProbeRewrite rewriteAppProbes(const boost::json::array& containers, uint16_t status_port);

}  // namespace weft::injector
