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
  } else {
    // What Istio users expect: two more tries when the request cannot have reached the app
    // (no connection, or the stream refused), which is always safe to repeat.
    weft::mesh::v1alpha1::Retries retries;
    retries.mutable_attempts()->set_value(2);
    retries.add_retry_on("connect-failure");
    retries.add_retry_on("refused-stream");
    settings.default_retries = std::move(retries);
  }
  if (spec.has_retry_budget_percent()) {
    settings.retry_budget_percent = spec.retry_budget_percent().value();
  }
  return settings;
}

}  // namespace weft::controlplane
