#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace weft::proxy::admin {

// What /clusters shows: the clusters the proxy knows and the state of each endpoint, summed
// over all workers. Filled in by the proxy (AdminCallbacks::clusters); the admin server only
// renders it.

// Across workers, report the worst state any worker sees (ejection is per worker).
enum class EndpointHealth {
  kHealthy,
  kDegraded,   // takes traffic only when healthy endpoints fall short
  kUnhealthy,  // marked unhealthy by the control plane or failed active health checking
  kEjected,    // ejected by outlier detection
  kDraining,   // being removed: takes no new requests
};

// "healthy", "degraded", "unhealthy", "ejected" or "draining".
std::string_view endpointHealthName(EndpointHealth health);

// "10.0.0.7:8080" or "[fd00::7]:8080": how EndpointStatus::address shows an IP endpoint.
std::string endpointAddress(const boost::asio::ip::tcp::endpoint& endpoint);

struct EndpointStatus {
  // "10.0.0.7:8080", "[fd00::7]:8080", or "host:port" for a DNS endpoint.
  std::string address;
  uint32_t weight = 1;
  EndpointHealth health = EndpointHealth::kHealthy;
  // Requests in flight to this endpoint across all workers.
  uint64_t active_requests = 0;
};

// A cluster's connection-pool and circuit-breaker state at one instant, across all workers
// (/stats/prometheus gauges).
struct ClusterPoolGauges {
  std::string cluster;
  uint32_t open_connections = 0;  // upstream connections (HTTP/1.1 or HTTP/2), open or pooled
  uint32_t pending_requests = 0;  // requests waiting for an HTTP/1.1 connection
  uint32_t active_requests = 0;   // requests in flight
  uint32_t active_retries = 0;    // retries in flight
};

struct ClusterStatus {
  std::string name;
  bool added_via_api = false;  // from the control plane rather than the bootstrap file
  std::vector<EndpointStatus> endpoints;
};

// Envoy's text layout, one fact per line, clusters sorted by name, endpoints in the given order:
//   backend::added_via_api::false
//   backend::10.0.0.7:8080::weight::1
//   backend::10.0.0.7:8080::health_flags::healthy
//   backend::10.0.0.7:8080::rq_active::0
std::string renderClustersText(const std::vector<ClusterStatus>& clusters);

// {"clusters": [{"name", "added_via_api", "endpoints": [{"address", "weight", "health",
// "active_requests"}]}]}, pretty-printed, clusters sorted by name.
std::string renderClustersJson(const std::vector<ClusterStatus>& clusters);

}  // namespace weft::proxy::admin
