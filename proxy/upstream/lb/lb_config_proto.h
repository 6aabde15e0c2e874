#pragma once

#include "proxy/upstream/lb/lb_config.h"
#include "weft/v1/cluster.pb.h"
#include "weft/v1/endpoint.pb.h"

namespace weft::proxy::lb {

// From the API messages to the typed config, with the API's defaults for unset fields. The
// snapshot builder validates first (proto rules) and fills ClusterLbConfig::localities itself,
// since it owns address parsing and its error paths; per endpoint it uses edsHealthFromProto()
// and LbEndpoint.load_balancing_weight (default 1), per locality its priority and
// load_balancing_weight (unset: 0).

// lb_policy with its lb_config, locality_weighted_lb, healthy_panic_threshold, and the
// assignment policy's overprovisioning_factor (`assignment`: load_assignment for STATIC and
// STRICT_DNS clusters, the EDS ClusterLoadAssignment otherwise).
LbPolicyConfig lbPolicyFromProto(const weft::v1::Cluster& cluster,
                                 const weft::v1::ClusterLoadAssignment& assignment);

EdsHealth edsHealthFromProto(weft::v1::HealthStatus status);

}  // namespace weft::proxy::lb
