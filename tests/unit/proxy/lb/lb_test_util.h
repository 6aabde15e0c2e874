#pragma once

#include <boost/asio/ip/address_v4.hpp>
#include <cstdint>
#include <map>
#include <vector>

#include "proxy/upstream/lb/lb_config.h"
#include "proxy/upstream/lb/load_balancer.h"
#include "proxy/upstream/lb/priority_set.h"

namespace weft::proxy::lb::testutil {

// 10.0.<n / 256>.<n % 256>:8080.
inline EndpointConfig endpoint(uint32_t n, uint32_t weight = 1,
                               EdsHealth health = EdsHealth::kHealthy) {
  EndpointConfig config;
  config.address =
      boost::asio::ip::tcp::endpoint(boost::asio::ip::address_v4(0x0A000000u + n), 8080);
  config.weight = weight;
  config.health = health;
  return config;
}

inline LocalityConfig locality(uint32_t priority, std::vector<EndpointConfig> endpoints,
                               uint32_t weight = 0) {
  LocalityConfig config;
  config.priority = priority;
  config.weight = weight;
  config.endpoints = std::move(endpoints);
  return config;
}

// `count` healthy endpoints numbered from `first`, with equal weights.
inline std::vector<EndpointConfig> endpoints(uint32_t first, uint32_t count) {
  std::vector<EndpointConfig> result;
  for (uint32_t i = 0; i < count; ++i) {
    result.push_back(endpoint(first + i));
  }
  return result;
}

// One priority, one locality.
inline ClusterLbConfig flatCluster(std::vector<EndpointConfig> endpoints,
                                   LbPolicy policy = LbPolicy::kRoundRobin) {
  ClusterLbConfig config;
  config.policy.policy = policy;
  config.localities.push_back(locality(0, std::move(endpoints)));
  return config;
}

// Host::index() of each of `picks` picks; -1 for nullptr.
inline std::vector<int> pickIndices(LoadBalancer& lb, size_t picks, const LbContext& context = {}) {
  std::vector<int> result;
  result.reserve(picks);
  for (size_t i = 0; i < picks; ++i) {
    const Host* host = lb.choose(context);
    result.push_back(host == nullptr ? -1 : static_cast<int>(host->index()));
  }
  return result;
}

// Picks per Host::index().
inline std::map<int, int> countPicks(LoadBalancer& lb, size_t picks,
                                     const LbContext& context = {}) {
  std::map<int, int> counts;
  for (int index : pickIndices(lb, picks, context)) {
    ++counts[index];
  }
  return counts;
}

inline LbContext hashed(uint64_t hash) {
  LbContext context;
  context.hash = hash;
  return context;
}

}  // namespace weft::proxy::lb::testutil
