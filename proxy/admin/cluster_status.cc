#include "proxy/admin/cluster_status.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "proxy/admin/json_text.h"

namespace weft::proxy::admin {

namespace {

std::vector<const ClusterStatus*> sortedByName(const std::vector<ClusterStatus>& clusters) {
  std::vector<const ClusterStatus*> sorted;
  sorted.reserve(clusters.size());
  for (const ClusterStatus& cluster : clusters) {
    sorted.push_back(&cluster);
  }
  std::stable_sort(
      sorted.begin(), sorted.end(),
      [](const ClusterStatus* a, const ClusterStatus* b) { return a->name < b->name; });
  return sorted;
}

}  // namespace

std::string_view endpointHealthName(EndpointHealth health) {
  switch (health) {
    case EndpointHealth::kHealthy:
      return "healthy";
    case EndpointHealth::kDegraded:
      return "degraded";
    case EndpointHealth::kUnhealthy:
      return "unhealthy";
    case EndpointHealth::kEjected:
      return "ejected";
    case EndpointHealth::kDraining:
      return "draining";
  }
  return "unknown";
}

std::string endpointAddress(const boost::asio::ip::tcp::endpoint& endpoint) {
  const auto& address = endpoint.address();
  const std::string port = std::to_string(endpoint.port());
  return address.is_v6() ? "[" + address.to_string() + "]:" + port
                         : address.to_string() + ":" + port;
}

std::string renderClustersText(const std::vector<ClusterStatus>& clusters) {
  std::string out;
  for (const ClusterStatus* cluster : sortedByName(clusters)) {
    out += cluster->name + "::added_via_api::" + (cluster->added_via_api ? "true" : "false") + "\n";
    for (const EndpointStatus& endpoint : cluster->endpoints) {
      const std::string prefix = cluster->name + "::" + endpoint.address + "::";
      out += prefix + "weight::" + std::to_string(endpoint.weight) + "\n";
      out += prefix + "health_flags::";
      out += endpointHealthName(endpoint.health);
      out += "\n";
      out += prefix + "rq_active::" + std::to_string(endpoint.active_requests) + "\n";
    }
  }
  return out;
}

std::string renderClustersJson(const std::vector<ClusterStatus>& clusters) {
  boost::json::array cluster_array;
  for (const ClusterStatus* cluster : sortedByName(clusters)) {
    boost::json::array endpoints;
    for (const EndpointStatus& endpoint : cluster->endpoints) {
      endpoints.push_back(boost::json::object{
          {"address", endpoint.address},
          {"weight", endpoint.weight},
          {"health", endpointHealthName(endpoint.health)},
          {"active_requests", endpoint.active_requests},
      });
    }
    cluster_array.push_back(boost::json::object{
        {"name", cluster->name},
        {"added_via_api", cluster->added_via_api},
        {"endpoints", std::move(endpoints)},
    });
  }
  return prettyJson(boost::json::object{{"clusters", std::move(cluster_array)}});
}

}  // namespace weft::proxy::admin
