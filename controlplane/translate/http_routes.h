#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "controlplane/model/mesh_model.h"
#include "controlplane/translate/mesh_settings.h"
#include "controlplane/translate/problem_log.h"
#include "controlplane/translate/service_catalog.h"
#include "weft/v1/route.pb.h"

namespace weft::controlplane {

// The routes of one service port as every client sees them: the rules of the TrafficRoute
// that claims the port, in order, then the route named "default" to the service itself.
struct HostRoutes {
  std::vector<weft::v1::Route> routes;
  // Services the routes send requests or copies to, the service itself included; sorted.
  std::vector<ServiceId> destinations;
};

// TrafficRoutes compiled into routes, once per model. A TrafficRoute applies to every client
// of its hosts, wherever the client runs (as an Istio VirtualService exported to all
// namespaces). Each service port is claimed by at most one TrafficRoute: the first by
// namespace/name; the others are reported for that port and do not apply to it. A rule that
// cannot be translated as written (a missing service, subset or port, an invalid regex, a
// header the proxy may not set) is reported and left out; the other rules still apply.
class HttpRouteTable {
 public:
  HttpRouteTable(const MeshModel& model, const ServiceCatalog& catalog,
                 const MeshSettings& settings, ProblemLog& problems);

  // Routes of an HTTP port of a service.
  const HostRoutes& routesFor(ServiceId service, uint32_t port) const;

  // Services the TrafficRoutes of a namespace send to (their hosts, backends and mirrors);
  // sorted.
  const std::vector<ServiceId>& destinationsOf(const std::string& namespace_) const;

 private:
  void claimPorts(const MeshModel& model, ProblemLog& problems);
  HostRoutes compile(const TrafficRoute* route, ServiceId service, const ServicePort& port,
                     ProblemLog& problems) const;

  const ServiceCatalog& catalog_;
  const MeshSettings& settings_;
  // Which TrafficRoute (if any) claims each HTTP service port.
  std::map<std::pair<ServiceId, uint32_t>, const TrafficRoute*> claims_;
  std::map<std::pair<ServiceId, uint32_t>, HostRoutes> routes_;
  std::map<std::string, std::vector<ServiceId>, std::less<>> namespace_destinations_;
};

// The route a vhost ends with: every request not taken by a rule goes to `cluster`.
weft::v1::Route defaultRoute(const std::string& cluster,
                             const std::vector<weft::v1::HashPolicy>& hash_policies,
                             const MeshSettings& settings);

}  // namespace weft::controlplane
