#pragma once

#include <optional>
#include <string>
#include <vector>

#include "controlplane/resources/built_resource.h"
#include "controlplane/translate/listeners.h"
#include "controlplane/translate/peer_authentication.h"
#include "controlplane/translate/problem_log.h"
#include "controlplane/translate/service_catalog.h"
#include "weft/v1/core.pb.h"

namespace weft::controlplane {

// What a proxy needs to deliver traffic to its own application: a STATIC cluster
// "inbound/<port>" per application port that a service selecting the workload targets, the
// route configurations and the "inbound" listener. These depend on the workload only, so one
// set serves every connection of that workload's proxy.
struct InboundResources {
  std::vector<BuiltResourcePtr> clusters;  // sorted by name
  std::vector<BuiltResourcePtr> routes;    // sorted by name
  // With traffic capture always set: a workload no service selects still has its inbound
  // connections redirected, which the catch-all passthrough chain serves.
  BuiltResourcePtr listener;
  // With traffic capture: the same listener on [::], for proxies whose pod has IPv6.
  BuiltResourcePtr listener_ipv6;
  // Some chain terminates mesh TLS (STRICT or PERMISSIVE), so the proxy needs the trust bundle.
  bool mesh_tls = false;
  // The AuthorizationPolicy names the chains list, sorted.
  std::vector<std::string> policies;
};

// What secures the inbound side of a workload.
struct InboundSecurity {
  // The control plane has a certificate authority: chains terminate mesh TLS in the mode
  // PeerAuthentication gives. Without one, chains have no tls block.
  bool mesh_mtls = false;
  PeerAuthenticationScopes peer;
  // AuthorizationPolicies that apply to the workload, sorted; every chain lists them all.
  std::vector<std::string> policies;

  bool operator==(const InboundSecurity&) const = default;
};

// Local mode (the workload has a sidecar block): the listener on <address>:<inbound_port>
// routes by Host, with one virtual host per HTTP port of each selecting service, to
// <address>:<target port>. TCP ports are not reachable without capture and are left out.
// With capture: the listener on 0.0.0.0:15006 has a chain per target port (HTTP: routed by
// "inbound/<port>" to 127.0.0.1:<port>; TCP: forwarded there), then a catch-all TCP chain to
// "inbound-passthrough" for ports no service declares.
// With traffic capture each chain has the mode of its application port; in local mode the one
// chain has the strictest mode of the workload's ports (reported when they differ). Every
// HTTP chain normalizes paths (inboundPathNormalization).
// `telemetry` (MeshConfig accessLogging and tracing) goes on every chain.
InboundResources inboundResources(const Workload& workload, const ServiceCatalog& catalog,
                                  const InboundSecurity& security, const ChainTelemetry& telemetry,
                                  ProblemLog& problems);

}  // namespace weft::controlplane
