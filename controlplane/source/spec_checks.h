#pragma once

#include "common/config/config_error.h"
#include "weft/mesh/v1alpha1/destination_policy.pb.h"
#include "weft/mesh/v1alpha1/mesh_config.pb.h"
#include "weft/mesh/v1alpha1/peer_authentication.pb.h"
#include "weft/mesh/v1alpha1/traffic_route.pb.h"
#include "weft/mesh/v1alpha1/workload.pb.h"

namespace weft::controlplane {

// Rules on weft.dev specs that the declared field rules (weft.v1.rules) cannot express because
// they relate several fields or need a compiler. They mirror the CEL rules of the CRDs
// (controlplane/crd), so a manifest is accepted from a directory exactly when the API server
// would accept it, plus what CEL cannot check (RE2 syntax, IP literals). Each returns errors
// whose field paths are relative to the spec, in proto field names; the loader positions them.

// Rules with several backends weight every backend, and not all weights are 0; a
// rewrite.pathPrefix needs prefix matches; path, header and query regexes compile with RE2.
config::ConfigErrors checkTrafficRoute(const weft::mesh::v1alpha1::TrafficRouteSpec& spec);

// RING_HASH and MAGLEV come with a consistentHash key; subset names are unique.
config::ConfigErrors checkDestinationPolicy(
    const weft::mesh::v1alpha1::DestinationPolicySpec& spec);

// portModes needs a selector, and its keys are port numbers.
config::ConfigErrors checkPeerAuthentication(
    const weft::mesh::v1alpha1::PeerAuthenticationSpec& spec);

// The tracing collector is given when an exporter is.
config::ConfigErrors checkMeshConfig(const weft::mesh::v1alpha1::MeshConfigSpec& spec);

// The address is an IPv4 or IPv6 literal; port numbers and names are unique; the sidecar's
// inbound port is not one of the application's.
config::ConfigErrors checkWorkload(const weft::mesh::v1alpha1::WorkloadSpec& spec);

}  // namespace weft::controlplane
