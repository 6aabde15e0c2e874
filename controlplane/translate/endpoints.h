#pragma once

#include <string>
#include <vector>

#include "controlplane/translate/clusters.h"
#include "controlplane/translate/mesh_settings.h"
#include "controlplane/translate/problem_log.h"
#include "controlplane/translate/service_catalog.h"
#include "weft/v1/endpoint.pb.h"

namespace weft::controlplane {

// The endpoints of one outbound cluster: the service's workloads that serve `port`, only
// those carrying every label of `subset` when one is given. Grouped by locality; localities
// and endpoints are sorted so equal input gives equal bytes. A workload with a sidecar (local
// mode) is reached through its sidecar's inbound port on HTTP ports, since its proxy routes
// by Host there; every other endpoint is the workload address and target port.
//
// Every endpoint carries its SPIFFE identity. When the cluster uses mesh mTLS, mtls_ready
// says whether to use it for the endpoint: with kMeshWhereReady only where the endpoint is the
// workload's sidecar (an HTTP port of a workload with a sidecar block) and
// `sidecar_accepts_mtls` (parallel to service.workloads) says its sidecar does not DISABLE
// mTLS; with kMeshAlways everywhere.
weft::v1::ClusterLoadAssignment outboundAssignment(
    const std::string& cluster_name, const CatalogService& service, const ServicePort& port,
    const weft::mesh::v1alpha1::Subset* subset, const MeshSettings& settings,
    UpstreamSecurity security, const std::vector<bool>& sidecar_accepts_mtls, ProblemLog& problems);

// `assignment` with priorities relative to a proxy's locality, for DestinationPolicies with
// locality_aware: same zone first (0), then same region, then elsewhere, renumbered so the
// priorities used are contiguous from 0. Empty locality fields match anything.
weft::v1::ClusterLoadAssignment prioritizedByLocality(
    const weft::v1::ClusterLoadAssignment& assignment, const weft::v1::Locality& proxy);

}  // namespace weft::controlplane
