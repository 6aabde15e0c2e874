#include "controlplane/source/kubernetes_objects.h"

#include <boost/asio/ip/address.hpp>
#include <boost/json.hpp>
#include <set>
#include <variant>

#include "common/kube/json_fields.h"

namespace weft::controlplane {
namespace {

namespace json = boost::json;

std::map<std::string, std::string> stringMapAt(const json::object& object, std::string_view key) {
  std::map<std::string, std::string> out;
  if (const json::object* map = kube::objectField(object, key)) {
    for (const auto& [name, value] : *map) {
      if (value.is_string()) {
        out.emplace(std::string(name), std::string(value.get_string()));
      }
    }
  }
  return out;
}

// The container ports of `containers`, but the sidecar's own; notes whether the sidecar is
// among them.
void readContainers(const json::array* containers, PodInfo& pod, std::set<uint32_t>& seen) {
  if (containers == nullptr) {
    return;
  }
  for (const json::value& entry : *containers) {
    if (!entry.is_object()) {
      continue;
    }
    const json::object& container = entry.get_object();
    if (std::string(kube::stringField(container, "name")) == kSidecarContainerName) {
      pod.meshed = true;
      continue;
    }
    const json::array* ports = kube::arrayField(container, "ports");
    if (ports == nullptr) {
      continue;
    }
    for (const json::value& port_entry : *ports) {
      if (!port_entry.is_object()) {
        continue;
      }
      const json::object& port = port_entry.get_object();
      const std::string protocol = std::string(kube::stringField(port, "protocol"));
      const json::value* number = port.if_contains("containerPort");
      if ((!protocol.empty() && protocol != "TCP") || number == nullptr || !number->is_int64() ||
          number->get_int64() < 1 || number->get_int64() > 65535) {
        continue;  // UDP and SCTP ports are not the mesh's
      }
      const auto value = static_cast<uint32_t>(number->get_int64());
      if (seen.insert(value).second) {
        pod.ports.emplace_back(std::string(kube::stringField(port, "name")), value);
      }
    }
  }
}

}  // namespace

std::string apiObjectSource(std::string_view kind, std::string_view key) {
  std::string source(kind);
  source += ' ';
  source += key;
  return source;
}

ManifestFile readApiObject(const json::object& object, std::string_view api_version,
                           std::string_view kind, const config::YamlLimits& limits) {
  json::object trimmed;
  const std::string written = std::string(kube::stringField(object, "apiVersion"));
  trimmed["apiVersion"] = written.empty() ? std::string(api_version) : written;
  trimmed["kind"] = kind;
  std::string key;
  if (const json::object* metadata = kube::objectField(object, "metadata")) {
    json::object meta;
    for (const std::string_view field : {"name", "namespace", "labels", "annotations"}) {
      if (const json::value* value = metadata->if_contains(field)) {
        meta[field] = *value;
      }
    }
    if (const json::value* generation = metadata->if_contains("generation")) {
      meta["generation"] = *generation;
    }
    const std::string namespace_ = std::string(kube::stringField(*metadata, "namespace"));
    key = (namespace_.empty() ? "" : namespace_ + "/") +
          std::string(kube::stringField(*metadata, "name"));
    trimmed["metadata"] = std::move(meta);
  }
  if (const json::value* spec = object.if_contains("spec")) {
    if (kind == "Service" && spec->is_object()) {
      // The fields the mesh reads; the API server fills in many more (clusterIPs,
      // ipFamilies, nodePort, ...), all outside the mesh's concern.
      json::object service_spec;
      for (const std::string_view field : {"selector", "type"}) {
        if (const json::value* value = spec->get_object().if_contains(field)) {
          service_spec[field] = *value;
        }
      }
      if (const json::array* ports = kube::arrayField(spec->get_object(), "ports")) {
        json::array kept;
        for (const json::value& port : *ports) {
          if (!port.is_object()) {
            kept.push_back(port);
            continue;
          }
          json::object kept_port;
          for (const std::string_view field :
               {"name", "port", "targetPort", "protocol", "appProtocol"}) {
            if (const json::value* value = port.get_object().if_contains(field)) {
              kept_port[field] = *value;
            }
          }
          kept.push_back(std::move(kept_port));
        }
        service_spec["ports"] = std::move(kept);
      }
      trimmed["spec"] = std::move(service_spec);
    } else {
      trimmed["spec"] = *spec;
    }
  }
  ManifestFile file = readManifests(json::serialize(trimmed), apiObjectSource(kind, key), limits);
  for (ManifestDocument& document : file.documents) {
    document.origin = "kubernetes";
    if (document.object) {
      std::visit([](auto& value) { value.meta.origin = "kubernetes"; }, document.object->value);
    }
  }
  return file;
}

std::optional<PodInfo> readPod(const json::object& object) {
  const json::object* metadata = kube::objectField(object, "metadata");
  const json::object* spec = kube::objectField(object, "spec");
  const json::object* status = kube::objectField(object, "status");
  if (metadata == nullptr || spec == nullptr || status == nullptr) {
    return std::nullopt;
  }
  PodInfo pod;
  pod.namespace_ = std::string(kube::stringField(*metadata, "namespace"));
  pod.name = std::string(kube::stringField(*metadata, "name"));
  pod.ip = std::string(kube::stringField(*status, "podIP"));
  const std::string phase = std::string(kube::stringField(*status, "phase"));
  boost::system::error_code not_an_address;
  boost::asio::ip::make_address(pod.ip, not_an_address);
  if (pod.namespace_.empty() || pod.name.empty() || pod.ip.empty() || not_an_address ||
      phase == "Succeeded" || phase == "Failed") {
    return std::nullopt;
  }
  pod.labels = stringMapAt(*metadata, "labels");
  pod.annotations = stringMapAt(*metadata, "annotations");
  pod.service_account = std::string(kube::stringField(*spec, "serviceAccountName"));
  if (pod.service_account.empty()) {
    pod.service_account = "default";
  }
  std::set<uint32_t> seen;
  readContainers(kube::arrayField(*spec, "containers"), pod, seen);
  // A native sidecar is an init container; other init containers have finished before the
  // pod serves, so their ports are not the pod's.
  std::set<uint32_t> ignored;
  PodInfo init;
  readContainers(kube::arrayField(*spec, "initContainers"), init, ignored);
  pod.meshed = pod.meshed || init.meshed;
  return pod;
}

std::map<std::string, PodEndpoint> readEndpointSlicePods(const json::object& object) {
  std::map<std::string, PodEndpoint> pods;
  const json::array* endpoints = kube::arrayField(object, "endpoints");
  if (endpoints == nullptr) {
    return pods;
  }
  for (const json::value& entry : *endpoints) {
    if (!entry.is_object()) {
      continue;
    }
    const json::object& endpoint = entry.get_object();
    const json::object* target = kube::objectField(endpoint, "targetRef");
    if (target == nullptr || std::string(kube::stringField(*target, "kind")) != "Pod") {
      continue;
    }
    PodEndpoint state;
    if (const json::object* conditions = kube::objectField(endpoint, "conditions")) {
      // `ready` is forced true for a Service with publishNotReadyAddresses; `serving` is the
      // pod's own readiness there too, and `terminating` a pod on its way out. Unset
      // conditions count as ready and serving, and not terminating (discovery.k8s.io/v1).
      auto flag = [conditions](std::string_view name, bool unset) {
        const json::value* value = conditions->if_contains(name);
        return value == nullptr || !value->is_bool() ? unset : value->get_bool();
      };
      state.ready = flag("ready", true) && flag("serving", true) && !flag("terminating", false);
    }
    state.zone = std::string(kube::stringField(endpoint, "zone"));
    std::string namespace_ = std::string(kube::stringField(*target, "namespace"));
    if (namespace_.empty()) {
      // A targetRef names a pod of the slice's own namespace when it leaves it out.
      const json::object* metadata = kube::objectField(object, "metadata");
      namespace_ = metadata == nullptr ? std::string()
                                       : std::string(kube::stringField(*metadata, "namespace"));
    }
    pods.insert_or_assign(namespace_ + "/" + std::string(kube::stringField(*target, "name")),
                          std::move(state));
  }
  return pods;
}

ManifestFile podWorkload(const PodInfo& pod, bool ready, const std::string& zone) {
  const std::string key = pod.namespace_ + "/" + pod.name;
  Workload workload;
  workload.meta.name = pod.name;
  workload.meta.namespace_ = pod.namespace_;
  workload.meta.labels = pod.labels;
  workload.meta.annotations = pod.annotations;
  workload.meta.origin = "kubernetes";
  workload.spec.set_address(pod.ip);
  workload.spec.set_service_account(pod.service_account);
  workload.spec.set_traffic_capture(pod.meshed);
  for (const auto& [name, number] : pod.ports) {
    auto& port = *workload.spec.add_ports();
    port.set_name(name);
    port.set_port(number);
  }
  if (!zone.empty()) {
    workload.spec.mutable_locality()->set_zone(zone);
  }
  workload.ready = ready;

  ManifestDocument document;
  document.api_version = "weft.dev/v1alpha1";
  document.kind = "Workload";
  document.namespace_ = pod.namespace_;
  document.name = pod.name;
  document.result = DocumentResult::kAccepted;
  document.origin = "kubernetes";
  document.object = ManifestObject{std::move(workload)};
  ManifestFile file;
  file.source = apiObjectSource("Pod", key);
  file.documents.push_back(std::move(document));
  return file;
}

}  // namespace weft::controlplane
