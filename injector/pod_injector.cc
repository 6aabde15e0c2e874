#include "injector/pod_injector.h"

#include <algorithm>

#include "common/kube/json_fields.h"
#include "injector/app_probe_rewrite.h"
#include "injector/json_patch.h"
#include "injector/pod_annotations.h"
#include "injector/sidecar_bootstrap.h"
#include "injector/sidecar_containers.h"

namespace weft::injector {

namespace json = boost::json;

namespace {

InjectionResult skipped(std::string reason, std::string message) {
  return {InjectionOutcome::kSkipped, std::move(reason), std::move(message), {}};
}

InjectionResult refused(std::string reason, std::string message) {
  return {InjectionOutcome::kRefused, std::move(reason), std::move(message), {}};
}

// The opt-out, as an annotation or a label: "false" (or "disabled") leaves the pod alone;
// "true" or "enabled" change nothing (the namespace decides). Anything else is a typo that
// must not pass silently.
std::optional<bool> optedOut(const json::object* metadata, std::string& error, std::string& how) {
  for (const char* section : {"annotations", "labels"}) {
    const json::object* entries =
        metadata != nullptr ? kube::objectField(*metadata, section) : nullptr;
    const json::value* value =
        entries != nullptr ? entries->if_contains(kInjectAnnotation) : nullptr;
    if (value == nullptr) {
      continue;
    }
    const std::string_view text = value->is_string() ? std::string_view(value->get_string()) : "";
    if (text == "false" || text == "disabled") {
      how = std::string(section == std::string_view("labels") ? "label " : "annotation ") +
            std::string(kInjectAnnotation) + ": " + std::string(text);
      return true;
    }
    if (text != "true" && text != "enabled") {
      error = std::string(section == std::string_view("labels") ? "label " : "annotation ") +
              std::string(kInjectAnnotation) + ": '" + std::string(text) +
              "' is not true, enabled, false or disabled";
      return std::nullopt;
    }
  }
  return false;
}

bool hasContainerNamed(const json::array* containers, std::string_view name) {
  return containers != nullptr &&
         std::any_of(containers->begin(), containers->end(), [&](const json::value& entry) {
           const json::object* container = entry.if_object();
           return container != nullptr && kube::stringField(*container, "name") == name;
         });
}

// A list field of the spec that must be an array when present.
bool listField(const json::object& spec, std::string_view key, const json::array*& out,
               std::string& error) {
  const json::value* value = spec.if_contains(key);
  out = value != nullptr ? value->if_array() : nullptr;
  if (value != nullptr && out == nullptr && !value->is_null()) {
    error = "spec." + std::string(key) + " is not a list";
    return false;
  }
  return true;
}

json::object op(std::string_view name, std::string path, json::value value) {
  return {{"op", name}, {"path", std::move(path)}, {"value", std::move(value)}};
}

}  // namespace

InjectionResult injectSidecar(const json::object& pod, std::string_view namespace_name,
                              const InjectionSettings& settings) {
  const json::object* metadata = kube::objectField(pod, "metadata");
  const json::object* spec = kube::objectField(pod, "spec");
  if (spec == nullptr) {
    return refused("invalid-pod", "the pod has no spec");
  }
  if (std::find(settings.excluded_namespaces.begin(), settings.excluded_namespaces.end(),
                namespace_name) != settings.excluded_namespaces.end()) {
    return skipped("namespace-excluded",
                   "namespace " + std::string(namespace_name) + " is never injected");
  }
  std::string error;
  std::string how;
  const auto opt_out = optedOut(metadata, error, how);
  if (!opt_out) {
    return refused("invalid-annotation", error);
  }
  if (*opt_out) {
    return skipped("opted-out", "the pod opts out (" + how + ")");
  }
  const json::array* containers = nullptr;
  const json::array* init_containers = nullptr;
  const json::array* volumes = nullptr;
  if (!listField(*spec, "containers", containers, error) ||
      !listField(*spec, "initContainers", init_containers, error) ||
      !listField(*spec, "volumes", volumes, error)) {
    return refused("invalid-pod", error);
  }
  if (hasContainerNamed(containers, kProxyContainerName) ||
      hasContainerNamed(init_containers, kProxyContainerName)) {
    return skipped("already-injected",
                   "the pod already has a " + std::string(kProxyContainerName) + " container");
  }
  if (const json::value* host_network = spec->if_contains("hostNetwork");
      host_network != nullptr && host_network->is_bool() && host_network->get_bool()) {
    return skipped("host-network",
                   "the pod uses the node's network (hostNetwork: true): capturing its "
                   "traffic would capture the node's");
  }
  if (containers == nullptr || containers->empty()) {
    return refused("invalid-pod", "spec.containers is empty");
  }
  for (std::string_view name : {kInitContainerName}) {
    if (hasContainerNamed(containers, name) || hasContainerNamed(init_containers, name)) {
      return refused("invalid-pod", "the pod already has a container named " + std::string(name) +
                                        ", which the injector adds");
    }
  }
  for (std::string_view name : {kTokenVolumeName, kDataVolumeName}) {
    if (hasContainerNamed(volumes, name)) {
      return refused("invalid-pod", "the pod already has a volume named " + std::string(name) +
                                        ", which the injector adds");
    }
  }
  const auto options = readPodInjectionOptions(metadata, settings.mode, error);
  if (!options) {
    return refused("invalid-annotation", error);
  }
  if (settings.mesh_root_pem.empty()) {
    return refused("no-mesh-root",
                   "the mesh root is not known yet (the control plane publishes it in the "
                   "ConfigMap weft-system/weft-mesh-root): the proxy could not verify the "
                   "control plane");
  }

  ProbeRewrite probes;
  if (options->rewrite_app_probes) {
    probes = rewriteAppProbes(*containers, kProxyStatusPort);
  }
  InjectionResult result;
  result.outcome = InjectionOutcome::kInjected;
  result.reason = "injected";
  result.mode = options->mode;
  result.message = std::string("injected a ") + sidecarModeName(options->mode) + " sidecar";
  json::array& patch = result.patch;
  // Index-based replacements first, while the indexes are still those of the pod as given.
  for (ProbeReplacement& replacement : probes.replacements) {
    patch.push_back({{"op", "replace"},
                     {"path", "/spec/containers/" + std::to_string(replacement.container_index) +
                                  "/" + replacement.field},
                     {"value", std::move(replacement.probe)}});
  }
  json::object proxy =
      proxyContainer(settings, *options, sidecarBootstrap(settings, probes.app_probes));
  json::object init = captureInitContainer(settings, *options);
  // The capture rules first, then (native) the proxy, then the pod's own init containers,
  // whose traffic the rules already capture and the proxy already serves.
  if (init_containers == nullptr || init_containers->empty()) {
    json::array list{std::move(init)};
    if (options->mode == SidecarMode::kNative) {
      list.push_back(std::move(proxy));
    }
    patch.push_back(op("add", "/spec/initContainers", std::move(list)));
  } else {
    patch.push_back(op("add", "/spec/initContainers/0", std::move(init)));
    if (options->mode == SidecarMode::kNative) {
      patch.push_back(op("add", "/spec/initContainers/1", std::move(proxy)));
    }
  }
  if (options->mode == SidecarMode::kClassic) {
    patch.push_back(op("add", "/spec/containers/0", std::move(proxy)));
  }
  json::array new_volumes = sidecarVolumes(settings);
  if (volumes == nullptr || volumes->empty()) {
    patch.push_back(op("add", "/spec/volumes", std::move(new_volumes)));
  } else {
    for (json::value& volume : new_volumes) {
      patch.push_back(op("add", "/spec/volumes/-", std::move(volume)));
    }
  }

  // Annotations: the marker, Prometheus' scrape target (unless the pod names its own), and,
  // with the proxy first among the containers, kubectl's default container.
  const json::object* annotations =
      metadata != nullptr ? kube::objectField(*metadata, "annotations") : nullptr;
  std::vector<std::pair<std::string, std::string>> added = {
      {std::string(kInjectedAnnotation), sidecarModeName(options->mode)}};
  auto addIfAbsent = [&](std::string key, std::string value) {
    if (annotations == nullptr || !annotations->contains(key)) {
      added.emplace_back(std::move(key), std::move(value));
    }
  };
  // A pod that names its own scrape target keeps it whole: mixing its port with our path
  // would point Prometheus at neither.
  const bool own_scrape_target =
      annotations != nullptr &&
      (annotations->contains("prometheus.io/scrape") ||
       annotations->contains("prometheus.io/port") || annotations->contains("prometheus.io/path"));
  if (!own_scrape_target) {
    added.emplace_back("prometheus.io/scrape", "true");
    added.emplace_back("prometheus.io/port", std::to_string(kProxyStatusPort));
    added.emplace_back("prometheus.io/path", "/metrics");
  }
  if (options->mode == SidecarMode::kClassic) {
    const json::object* first = (*containers)[0].if_object();
    if (first != nullptr && !kube::stringField(*first, "name").empty()) {
      addIfAbsent("kubectl.kubernetes.io/default-container",
                  std::string(kube::stringField(*first, "name")));
    }
  }
  if (annotations == nullptr) {
    json::object all;
    for (auto& [key, value] : added) {
      all[key] = value;
    }
    if (metadata == nullptr) {
      patch.push_back(op("add", "/metadata", json::object{{"annotations", std::move(all)}}));
    } else {
      patch.push_back(op("add", "/metadata/annotations", std::move(all)));
    }
  } else {
    for (auto& [key, value] : added) {
      patch.push_back(
          op("add", "/metadata/annotations/" + escapePointerToken(key), json::string(value)));
    }
  }
  return result;
}

}  // namespace weft::injector
