#pragma once

#include <string>
#include <vector>

#include "controlplane/translate/http_routes.h"
#include "controlplane/translate/mesh_settings.h"
#include "controlplane/translate/service_catalog.h"

namespace weft::controlplane {

// The services a proxy in `namespace_` is sent, sorted by id. Visibility mode MESH: all of
// them. Otherwise (NAMESPACE, the default) the services of its own namespace, those of
// visibility.also_namespaces, and those the TrafficRoutes of its namespace send to (hosts,
// backends, mirrors). In both modes the set is closed under routing: a visible service
// whose TrafficRoute sends to another service makes that one visible too, so no route
// names a cluster the proxy does not have.
std::vector<ServiceId> visibleServices(const std::string& namespace_, const ServiceCatalog& catalog,
                                       const HttpRouteTable& routes, const MeshSettings& settings);

}  // namespace weft::controlplane
