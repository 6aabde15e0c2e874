#pragma once

#include <cstdint>
#include <vector>

#include "proxy/snapshot/snapshot.h"

namespace weft::proxy {

struct UpstreamPick {
  const ClusterConfig* cluster = nullptr;
  const UpstreamEndpoint* endpoint = nullptr;  // null when the cluster has no endpoints
};

// Chooses a cluster of a weighted split, then an endpoint of it by weight, both
// from one ticket of the worker's counter (see WeightedPicker): no shared state,
// no locks, no allocation.
inline UpstreamPick pickUpstream(const std::vector<WeightedClusterRef>& clusters,
                                 const WeightedPicker& picker, uint64_t ticket) {
  if (clusters.empty()) {
    return {};
  }
  const ClusterConfig* cluster = clusters.front().cluster;
  if (clusters.size() > 1) {
    uint64_t point = picker.point(ticket);
    for (const WeightedClusterRef& candidate : clusters) {
      if (point < candidate.weight) {
        cluster = candidate.cluster;
        break;
      }
      point -= candidate.weight;
    }
  }
  if (cluster->endpoints.empty()) {
    return {cluster, nullptr};
  }
  uint64_t point = cluster->picker.point(ticket);
  for (const UpstreamEndpoint& endpoint : cluster->endpoints) {
    if (point < endpoint.weight) {
      return {cluster, &endpoint};
    }
    point -= endpoint.weight;
  }
  return {cluster, &cluster->endpoints.front()};
}

}  // namespace weft::proxy
