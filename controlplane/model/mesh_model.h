#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "weft/mesh/v1alpha1/authorization_policy.pb.h"
#include "weft/mesh/v1alpha1/destination_policy.pb.h"
#include "weft/mesh/v1alpha1/mesh_config.pb.h"
#include "weft/mesh/v1alpha1/peer_authentication.pb.h"
#include "weft/mesh/v1alpha1/traffic_route.pb.h"
#include "weft/mesh/v1alpha1/workload.pb.h"

namespace weft::controlplane {

// The mesh as the user described it: Services, Workloads and the weft.dev policies, read from
// a source (a directory of manifests, or the Kubernetes API). This is the one place that holds
// mesh semantics in their user-facing form; translation (controlplane/translate) turns it into
// per-proxy resources. A model is immutable once built and shared by pointer, so translation
// can run on one version while a source builds the next.

// The parts of Kubernetes ObjectMeta the mesh uses.
struct ObjectMeta {
  std::string name;
  std::string namespace_;  // never empty: "default" when the manifest left it out
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  // metadata.generation when the source knows it (Kubernetes), else 0.
  int64_t generation = 0;
  // Where it came from, for messages: "routes.yaml#2" (file and document index) or
  // "kubernetes".
  std::string origin;
};

// Objects are keyed by "<namespace>/<name>".
inline std::string objectKey(const std::string& namespace_, const std::string& name) {
  return namespace_ + "/" + name;
}

// The application protocol of a service port, from appProtocol or the port name prefix
// ("http-", "grpc-", "tcp-"), as Kubernetes users write them.
enum class PortProtocol : uint8_t { kHttp, kHttp2, kGrpc, kTcp };

// A port of a core/v1 Service.
struct ServicePort {
  std::string name;
  uint32_t port = 0;
  // targetPort: a number, or the name of a workload port (then target_port is 0).
  uint32_t target_port = 0;
  std::string target_port_name;
  PortProtocol protocol = PortProtocol::kHttp;
};

// A core/v1 Service (type ClusterIP; the fields the mesh uses).
struct Service {
  ObjectMeta meta;
  // spec.selector: the workloads (pods or Workload objects) behind the service. Empty: none.
  std::map<std::string, std::string> selector;
  std::vector<ServicePort> ports;
};

// A weft.dev Workload: an instance outside pods, or every instance in local mode. In
// Kubernetes mode every running pod is one too (kubernetes_objects.h), keyed by the pod's name.
struct Workload {
  ObjectMeta meta;  // meta.labels are what Service selectors match
  weft::mesh::v1alpha1::WorkloadSpec spec;
  // Whether services send it traffic. A pod is ready when an EndpointSlice lists it ready (not
  // starting, not failing its readiness probe, not terminating); a Workload object always is.
  // An unready workload still gets its own inbound configuration.
  bool ready = true;
};

// A weft.dev policy object: metadata plus its spec message.
template <class Spec>
struct PolicyObject {
  ObjectMeta meta;
  Spec spec;
};

using TrafficRoute = PolicyObject<weft::mesh::v1alpha1::TrafficRouteSpec>;
using DestinationPolicy = PolicyObject<weft::mesh::v1alpha1::DestinationPolicySpec>;
using AuthorizationPolicy = PolicyObject<weft::mesh::v1alpha1::AuthorizationPolicySpec>;
using PeerAuthentication = PolicyObject<weft::mesh::v1alpha1::PeerAuthenticationSpec>;
using MeshConfig = PolicyObject<weft::mesh::v1alpha1::MeshConfigSpec>;

// Objects are held by shared pointers to immutable values: a new model after a change copies
// the maps (pointers) and replaces only the changed objects, and the objects a model holds
// stay valid for as long as anything holds the model.
template <class T>
using ObjectMap = std::map<std::string, std::shared_ptr<const T>>;

struct MeshModel {
  // Keyed by objectKey(namespace, name), so iteration order is deterministic. No null values.
  ObjectMap<Service> services;
  ObjectMap<Workload> workloads;
  ObjectMap<TrafficRoute> traffic_routes;
  ObjectMap<DestinationPolicy> destination_policies;
  ObjectMap<AuthorizationPolicy> authorization_policies;
  ObjectMap<PeerAuthentication> peer_authentications;
  // The MeshConfig named "default" in the root namespace, if any; its spec's defaults apply
  // otherwise.
  std::shared_ptr<const MeshConfig> mesh_config;
};

using MeshModelPtr = std::shared_ptr<const MeshModel>;

// The namespace of the control plane: a MeshConfig is read from here, and policies here apply
// mesh-wide.
inline constexpr const char* kRootNamespace = "weft-system";

}  // namespace weft::controlplane
