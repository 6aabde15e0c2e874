#pragma once

#include <string>
#include <vector>

#include "controlplane/resources/built_resource.h"
#include "weft/v1/bootstrap.pb.h"

namespace weft::controlplane::testing {

// A proxy's resources as a static bootstrap, the form today's weft-proxy loads without a
// control plane: EDS clusters become STATIC clusters holding their ClusterLoadAssignment, and
// each connection manager's route_config_name is replaced by that RouteConfiguration inline.
// A reference to a resource the proxy was not given is added to `errors`.
weft::v1::Bootstrap staticBootstrap(const weft::v1::Node& node, const ProxyResources& resources,
                                    std::vector<std::string>& errors);

}  // namespace weft::controlplane::testing
