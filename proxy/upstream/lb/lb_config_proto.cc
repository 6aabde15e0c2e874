#include "proxy/upstream/lb/lb_config_proto.h"

namespace weft::proxy::lb {
namespace {

LbPolicy policyFromProto(weft::v1::Cluster::LbPolicy policy) {
  switch (policy) {
    case weft::v1::Cluster::LEAST_REQUEST:
      return LbPolicy::kLeastRequest;
    case weft::v1::Cluster::RANDOM:
      return LbPolicy::kRandom;
    case weft::v1::Cluster::RING_HASH:
      return LbPolicy::kRingHash;
    case weft::v1::Cluster::MAGLEV:
      return LbPolicy::kMaglev;
    default:
      return LbPolicy::kRoundRobin;
  }
}

}  // namespace

LbPolicyConfig lbPolicyFromProto(const weft::v1::Cluster& cluster,
                                 const weft::v1::ClusterLoadAssignment& assignment) {
  LbPolicyConfig config;
  config.policy = policyFromProto(cluster.lb_policy());
  if (cluster.has_least_request() && cluster.least_request().has_choice_count()) {
    config.choice_count = cluster.least_request().choice_count().value();
  }
  if (cluster.has_ring_hash()) {
    if (cluster.ring_hash().has_minimum_ring_size()) {
      config.minimum_ring_size = cluster.ring_hash().minimum_ring_size().value();
    }
    if (cluster.ring_hash().has_maximum_ring_size()) {
      config.maximum_ring_size = cluster.ring_hash().maximum_ring_size().value();
    }
  }
  if (cluster.has_maglev() && cluster.maglev().has_table_size()) {
    config.maglev_table_size = cluster.maglev().table_size().value();
  }
  config.locality_weighted = cluster.locality_weighted_lb();
  if (cluster.has_healthy_panic_threshold()) {
    config.healthy_panic_threshold = cluster.healthy_panic_threshold().value();
  }
  if (assignment.has_policy() && assignment.policy().has_overprovisioning_factor()) {
    config.overprovisioning_factor = assignment.policy().overprovisioning_factor().value();
  }
  return normalizePolicy(config);
}

EdsHealth edsHealthFromProto(weft::v1::HealthStatus status) {
  switch (status) {
    case weft::v1::UNHEALTHY:
      return EdsHealth::kUnhealthy;
    case weft::v1::DRAINING:
      return EdsHealth::kDraining;
    case weft::v1::DEGRADED:
      return EdsHealth::kDegraded;
    default:
      return EdsHealth::kHealthy;  // HEALTHY, HEALTH_STATUS_UNKNOWN
  }
}

}  // namespace weft::proxy::lb
