#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "controlplane/translate/mesh_settings.h"
#include "controlplane/translate/problem_log.h"
#include "controlplane/translate/service_catalog.h"
#include "weft/v1/cluster.pb.h"
#include "weft/v1/route.pb.h"

namespace weft::controlplane {

// The client-side settings of one cluster: the DestinationPolicy's traffic_policy, with each
// top-level field the subset sets replacing the policy's (the mesh API's "field by field at
// the top level"). Empty when the service has no DestinationPolicy.
weft::mesh::v1alpha1::TrafficPolicy effectiveTrafficPolicy(
    const CatalogService& service, const weft::mesh::v1alpha1::Subset* subset);

// How a client's proxy connects to a cluster's endpoints.
enum class UpstreamSecurity : uint8_t {
  kPlaintext,
  // Mesh mTLS (UpstreamTls MUTUAL_MESH) to the endpoints whose mtls_ready says they run a
  // sidecar that accepts it, plaintext to the others: DestinationPolicy tls AUTO (the default).
  kMeshWhereReady,
  // Mesh mTLS to every endpoint, which fails where no sidecar answers: tls MESH.
  kMeshAlways,
};

// The security of a cluster with this policy. `mesh_mtls`: the control plane has a
// certificate authority; without one every cluster is plaintext. tls SIMPLE is not translated
// (it needs the system's trusted roots as a Secret, which the API cannot name) and stays
// plaintext; checkTrafficPolicy reports it.
UpstreamSecurity upstreamSecurity(const weft::mesh::v1alpha1::TrafficPolicy& policy,
                                  bool mesh_mtls);

// Reports the parts of a DestinationPolicy's traffic policy that cannot take effect as
// written; `what` names the policy (and subset) in the messages.
void checkTrafficPolicy(const weft::mesh::v1alpha1::TrafficPolicy& policy, const std::string& what,
                        bool mesh_mtls, ProblemLog& problems);

// The hash inputs routes must carry for a cluster with this policy: consistent hashing is
// configured on the cluster (algorithm) and on the route (what to hash). Empty unless the
// algorithm is RING_HASH or MAGLEV with a key.
std::vector<weft::v1::HashPolicy> hashPolicies(const weft::mesh::v1alpha1::TrafficPolicy& policy);

// The EDS cluster of a service port, or of one of its subsets.
weft::v1::Cluster outboundCluster(const std::string& name, const std::string& fqdn,
                                  PortProtocol protocol,
                                  const weft::mesh::v1alpha1::TrafficPolicy& policy,
                                  UpstreamSecurity security, const MeshSettings& settings);

// The catch-all outbound chain's cluster: "passthrough" (ORIGINAL_DST: the connection goes to
// the address the application dialled) or, with `registry_only`, "blackhole" (no endpoints:
// the connection is closed, and the proxy logs it).
weft::v1::Cluster fallbackCluster(bool registry_only);

// "inbound-passthrough": ORIGINAL_DST connecting to loopback at the original port (the
// proxy's own connections to the pod's address would be captured back into it).
weft::v1::Cluster inboundPassthroughCluster();

// The STATIC cluster of the local application's port: one endpoint, `address`:`port`.
// `destination_service`: the FQDN of the service the port serves, which labels the inbound
// side's metrics as the callers' sidecars label theirs.
weft::v1::Cluster inboundCluster(uint32_t port, const std::string& address, PortProtocol protocol,
                                 const std::string& destination_service);

// The upstream protocol for a service port's protocol.
weft::v1::Cluster::Protocol clusterProtocol(PortProtocol protocol);

}  // namespace weft::controlplane
