#include "controlplane/translate/visibility.h"

namespace weft::controlplane {

std::vector<ServiceId> visibleServices(const std::string& namespace_, const ServiceCatalog& catalog,
                                       const HttpRouteTable& routes, const MeshSettings& settings) {
  const size_t count = catalog.services().size();
  std::vector<bool> visible(count, settings.mesh_wide_visibility);
  std::vector<ServiceId> pending;
  auto add = [&](ServiceId id) {
    if (!visible[id]) {
      visible[id] = true;
      pending.push_back(id);
    }
  };
  if (settings.mesh_wide_visibility) {
    pending.resize(count);
    for (ServiceId id = 0; id < count; ++id) {
      pending[id] = id;
    }
  } else {
    for (ServiceId id : catalog.servicesIn(namespace_)) {
      add(id);
    }
    for (const std::string& also : settings.also_namespaces) {
      for (ServiceId id : catalog.servicesIn(also)) {
        add(id);
      }
    }
    for (ServiceId id : routes.destinationsOf(namespace_)) {
      add(id);
    }
  }
  while (!pending.empty()) {
    const ServiceId id = pending.back();
    pending.pop_back();
    for (const ServicePort& port : catalog.service(id).service->ports) {
      if (isHttp(port.protocol)) {
        for (ServiceId destination : routes.routesFor(id, port.port).destinations) {
          add(destination);
        }
      }
    }
  }
  std::vector<ServiceId> ids;
  for (ServiceId id = 0; id < count; ++id) {
    if (visible[id]) {
      ids.push_back(id);
    }
  }
  return ids;
}

}  // namespace weft::controlplane
