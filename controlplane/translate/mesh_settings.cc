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
  const auto& logging = spec.access_logging();
  if (logging.format() != weft::mesh::v1alpha1::AccessLogging::OFF) {
    weft::v1::AccessLog log;
    log.set_path("/dev/stdout");
    if (logging.format() == weft::mesh::v1alpha1::AccessLogging::TEXT) {
      log.set_format(weft::v1::AccessLog::TEXT);
      log.set_text_format(std::string(kMeshTextAccessLogFormat));
    }
    if (logging.has_sampling_percent()) {
      log.mutable_sampling_percentage()->set_value(logging.sampling_percent().value());
    }
    log.set_errors_only(logging.errors_only());
    settings.access_log = std::move(log);
  }
  settings.registry_only = spec.outbound_traffic_policy().mode() ==
                           weft::mesh::v1alpha1::OutboundTrafficPolicy::REGISTRY_ONLY;
  if (spec.has_tracing()) {
    weft::v1::Tracing tracing;
    // The documented default, written out: a proxy's own default is its bootstrap's.
    tracing.mutable_random_sampling_percentage()->set_value(
        spec.tracing().has_sampling_percent() ? spec.tracing().sampling_percent().value() : 1);
    settings.tracing = std::move(tracing);
  }
  return settings;
}

}  // namespace weft::controlplane
