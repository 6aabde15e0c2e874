#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/config/yaml_to_proto.h"
#include "controlplane/source/manifest_reader.h"

namespace weft::controlplane {

// The Kubernetes API's objects as the mesh model reads them. The same reader serves both
// sources: a Service or weft.dev resource from the API is read exactly as the manifest a user
// would put in the local mode's directory, so both modes accept and refuse the same things.

// The container the injector adds to a pod, by which the control plane knows the pod is
// meshed: as a container, or as a native sidecar (an init container that keeps running).
inline constexpr std::string_view kSidecarContainerName = "weft-proxy";

// The name the builder knows an API object by, which also names it in logs: "TrafficRoute
// default/reviews", "Pod default/reviews-v1-7d9f".
std::string apiObjectSource(std::string_view kind, std::string_view key);

// Reads a Service or a weft.dev resource from its API form. Only apiVersion, kind, metadata
// (name, namespace, labels, annotations, generation) and spec are read: what the API server
// adds (uid, managedFields, status, clusterIP, ...) is no part of the user's intent. Rejected
// documents keep the reader's errors; accepted objects have origin "kubernetes".
// `api_version` is the resource's ("v1", "weft.dev/v1alpha1"): the items of a list of built-in
// kinds carry no apiVersion or kind.
ManifestFile readApiObject(const boost::json::object& object, std::string_view api_version,
                           std::string_view kind, const config::YamlLimits& limits);

// What the mesh needs of a pod.
struct PodInfo {
  std::string namespace_;
  std::string name;
  std::string ip;  // status.podIP
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::string service_account;
  // The application containers' declared ports (name may be empty), by number, each once.
  std::vector<std::pair<std::string, uint32_t>> ports;
  // Whether the pod runs Weft's sidecar (kSidecarContainerName).
  bool meshed = false;
};

// The pod, when it can take traffic at all: it has an IP address and has not finished
// (Succeeded or Failed). nullopt otherwise, and for objects too broken to name a pod.
std::optional<PodInfo> readPod(const boost::json::object& object);

// A pod's state in one EndpointSlice.
struct PodEndpoint {
  // Whether it should get traffic: conditions.ready and serving, and not terminating (so a
  // Service with publishNotReadyAddresses, whose slices say ready regardless, does not make
  // an unready pod an endpoint of the pod's other Services). Unset counts as ready.
  bool ready = true;
  // The zone of the pod's node, when the slice says.
  std::string zone;
};

// The pods an EndpointSlice lists (endpoints whose targetRef is a Pod), by "namespace/name".
std::map<std::string, PodEndpoint> readEndpointSlicePods(const boost::json::object& object);

// The Workload that stands for a pod in the model: its address, ports, service account and
// labels; trafficCapture when it is meshed (its sidecar captures every port); the zone of its
// node. Accepted, named apiObjectSource("Pod", key).
ManifestFile podWorkload(const PodInfo& pod, bool ready, const std::string& zone);

}  // namespace weft::controlplane
