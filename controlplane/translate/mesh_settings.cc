#include "controlplane/translate/mesh_settings.h"

#include <algorithm>

namespace weft::controlplane {

MeshSettings meshSettings(const MeshModel& model) {
  MeshSettings settings;
  if (!model.mesh_config) {
    return settings;
  }
  const auto& spec = model.mesh_config->spec;
  if (!spec.trust_domain().empty()) {
    settings.trust_domain = spec.trust_domain();
  }
  if (!spec.dns_suffix().empty()) {
    settings.dns_suffix = spec.dns_suffix();
  }
  settings.mesh_wide_visibility =
      spec.visibility().mode() == weft::mesh::v1alpha1::ServiceVisibility::MESH;
  settings.also_namespaces.assign(spec.visibility().also_namespaces().begin(),
                                  spec.visibility().also_namespaces().end());
  std::sort(settings.also_namespaces.begin(), settings.also_namespaces.end());
  settings.also_namespaces.erase(
      std::unique(settings.also_namespaces.begin(), settings.also_namespaces.end()),
      settings.also_namespaces.end());
  if (spec.has_default_retries()) {
    settings.default_retries = spec.default_retries();
  }
  if (spec.has_retry_budget_percent()) {
    settings.retry_budget_percent = spec.retry_budget_percent().value();
  }
  return settings;
}

}  // namespace weft::controlplane
