#pragma once

#include <optional>
#include <string>
#include <vector>

#include "controlplane/model/mesh_model.h"
#include "weft/v1/core.pb.h"

namespace weft::controlplane {

// The MeshConfig values translation uses, with the documented defaults filled in, read once
// per model.
struct MeshSettings {
  std::string trust_domain = "cluster.local";
  std::string dns_suffix = "svc.cluster.local";
  // visibility.mode MESH: every proxy learns every service.
  bool mesh_wide_visibility = false;
  // visibility.also_namespaces, sorted and unique.
  std::vector<std::string> also_namespaces;
  // Retries of rules that set none. Unset: no retries are configured by default.
  std::optional<weft::mesh::v1alpha1::Retries> default_retries;
  // retry_budget_percent when the MeshConfig sets it.
  std::optional<double> retry_budget_percent;
  // accessLogging, as every proxy chain's access log (to the proxy's stdout, which the
  // container runtime collects). Unset: format OFF.
  std::optional<weft::v1::AccessLog> access_log;
  // tracing, as every HTTP chain's trace propagation and sampling. Unset: MeshConfig has no
  // tracing block, and proxies leave trace headers alone.
  std::optional<weft::v1::Tracing> tracing;
  // outboundTrafficPolicy.mode REGISTRY_ONLY: capture sidecars close connections to unknown
  // destinations instead of passing them through.
  bool registry_only = false;
};

// The TEXT access log line of proxies when MeshConfig asks for TEXT.
inline constexpr std::string_view kMeshTextAccessLogFormat =
    "[%START_TIME%] \"%METHOD% %PATH% %PROTOCOL%\" %RESPONSE_CODE% %RESPONSE_FLAGS% "
    "%BYTES_RECEIVED% %BYTES_SENT% %DURATION_MS% %UPSTREAM_SERVICE_TIME_MS% "
    "\"%UPSTREAM_HOST%\" \"%USER_AGENT%\" \"%REQUEST_ID%\" \"%AUTHORITY%\" %TRACE_ID%";

MeshSettings meshSettings(const MeshModel& model);

}  // namespace weft::controlplane
