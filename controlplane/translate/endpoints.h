#pragma once

#include <string>
#include <utility>
#include <vector>

#include "controlplane/translate/clusters.h"
#include "controlplane/translate/mesh_settings.h"
#include "controlplane/translate/problem_log.h"
#include "controlplane/translate/service_catalog.h"
#include "weft/v1/endpoint.pb.h"
#include "weft/v1/listener.pb.h"

namespace weft::controlplane {

// What callers need to know of a workload's sidecar to choose mesh TLS: whether it has one
// (a sidecar block, or trafficCapture) and the modes its PeerAuthentication gives. A value,
// compared to decide whether a service's endpoints can be reused.
struct SidecarTls {
  enum class Kind { kNone, kLocal, kCapture };
  Kind kind = Kind::kNone;
  // Local mode: the strictest mode of any port (one inbound port serves them all). Capture:
  // the mode of ports without a port_modes entry.
  weft::v1::DownstreamTls::Mode mode = weft::v1::DownstreamTls::DISABLE;
  // Capture: the resolved mode of each port with a port_modes entry, sorted by port.
  std::vector<std::pair<uint32_t, weft::v1::DownstreamTls::Mode>> port_modes;

  bool operator==(const SidecarTls&) const = default;

  // Whether a connection to the application port `port` may use mesh TLS.
  bool acceptsOn(uint32_t port) const;
};

// The endpoints of one outbound cluster: the service's workloads that serve `port`, only
// those carrying every label of `subset` when one is given. Grouped by locality; localities
// and endpoints are sorted so equal input gives equal bytes. A workload with a sidecar (local
// mode) is reached through its sidecar's inbound port on HTTP ports, since its proxy routes
// by Host there; every other endpoint is the workload address and target port.
//
// Every endpoint carries its SPIFFE identity. When the cluster uses mesh mTLS, mtls_ready
// says whether to use it for the endpoint: with kMeshWhereReady only where a sidecar receives
// the connection (an HTTP port of a workload with a sidecar block, any port of a capturing
// one) and `sidecars` (parallel to service.workloads) says it does not DISABLE mTLS on that
// port; with kMeshAlways everywhere.
weft::v1::ClusterLoadAssignment outboundAssignment(
    const std::string& cluster_name, const CatalogService& service, const ServicePort& port,
    const weft::mesh::v1alpha1::Subset* subset, const MeshSettings& settings,
    UpstreamSecurity security, const std::vector<SidecarTls>& sidecars, ProblemLog& problems);

// `assignment` with priorities relative to a proxy's locality, for DestinationPolicies with
// locality_aware: same zone first (0), then same region, then elsewhere, renumbered so the
// priorities used are contiguous from 0. Empty locality fields match anything.
weft::v1::ClusterLoadAssignment prioritizedByLocality(
    const weft::v1::ClusterLoadAssignment& assignment, const weft::v1::Locality& proxy);

}  // namespace weft::controlplane
