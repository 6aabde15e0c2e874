#include "tests/unit/controlplane/translate/proxy_bootstrap.h"

#include <map>

namespace weft::controlplane::testing {
namespace {

template <class Message>
std::map<std::string, Message> parseAll(const std::vector<BuiltResourcePtr>& resources,
                                        std::vector<std::string>& errors) {
  std::map<std::string, Message> parsed;
  for (const BuiltResourcePtr& resource : resources) {
    if (!parsed[resource->name].ParseFromString(resource->bytes)) {
      errors.push_back("resource " + resource->name + " does not parse");
    }
  }
  return parsed;
}

}  // namespace

weft::v1::Bootstrap staticBootstrap(const weft::v1::Node& node, const ProxyResources& resources,
                                    std::vector<std::string>& errors) {
  const auto assignments =
      parseAll<weft::v1::ClusterLoadAssignment>(resources.of(ResourceType::kEndpoints), errors);
  const auto route_configs =
      parseAll<weft::v1::RouteConfiguration>(resources.of(ResourceType::kRoute), errors);
  weft::v1::Bootstrap bootstrap;
  *bootstrap.mutable_node() = node;
  auto& statics = *bootstrap.mutable_static_resources();
  for (auto& [name, cluster] :
       parseAll<weft::v1::Cluster>(resources.of(ResourceType::kCluster), errors)) {
    if (cluster.type() == weft::v1::Cluster::EDS) {
      const std::string& eds_name =
          cluster.eds_service_name().empty() ? cluster.name() : cluster.eds_service_name();
      auto assignment = assignments.find(eds_name);
      if (assignment == assignments.end()) {
        errors.push_back("cluster " + name + ": no ClusterLoadAssignment " + eds_name);
      } else {
        *cluster.mutable_load_assignment() = assignment->second;
      }
      cluster.set_type(weft::v1::Cluster::STATIC);
      cluster.clear_eds_service_name();
    }
    *statics.add_clusters() = std::move(cluster);
  }
  for (auto& [name, listener] :
       parseAll<weft::v1::Listener>(resources.of(ResourceType::kListener), errors)) {
    for (auto& chain : *listener.mutable_filter_chains()) {
      if (!chain.has_http() || chain.http().route_config_name().empty()) {
        continue;
      }
      const std::string route_name = chain.http().route_config_name();
      auto routes = route_configs.find(route_name);
      if (routes == route_configs.end()) {
        errors.push_back("listener " + name + ": no RouteConfiguration " + route_name);
        continue;
      }
      *chain.mutable_http()->mutable_route_config() = routes->second;
    }
    *statics.add_listeners() = std::move(listener);
  }
  for (auto& [name, secret] :
       parseAll<weft::v1::Secret>(resources.of(ResourceType::kSecret), errors)) {
    *statics.add_secrets() = std::move(secret);
  }
  for (auto& [name, policy] : parseAll<weft::v1::AuthorizationPolicy>(
           resources.of(ResourceType::kAuthorization), errors)) {
    *statics.add_authorization_policies() = std::move(policy);
  }
  return bootstrap;
}

}  // namespace weft::controlplane::testing
