#include "tests/unit/controlplane/translate/model_builder.h"

#include <gtest/gtest.h>

#include "common/config/yaml_to_proto.h"

namespace weft::controlplane::testing {
namespace {

ObjectMeta meta(const std::string& namespace_, const std::string& name, Labels labels = {}) {
  ObjectMeta out;
  out.name = name;
  out.namespace_ = namespace_;
  out.labels = std::move(labels);
  out.origin = "model_builder";
  return out;
}

template <class Spec>
Spec load(std::string_view yaml, const std::string& what) {
  Spec spec;
  const config::ConfigErrors errors = config::loadYaml(yaml, what, spec);
  EXPECT_TRUE(errors.empty()) << config::formatErrors(errors);
  return spec;
}

}  // namespace

ServicePort port(uint32_t number, PortProtocol protocol, uint32_t target, std::string target_name) {
  ServicePort out;
  out.port = number;
  out.protocol = protocol;
  out.target_port = target;
  out.target_port_name = std::move(target_name);
  switch (protocol) {
    case PortProtocol::kHttp:
      out.name = "http";
      break;
    case PortProtocol::kHttp2:
      out.name = "http2";
      break;
    case PortProtocol::kGrpc:
      out.name = "grpc";
      break;
    case PortProtocol::kTcp:
      out.name = "tcp";
      break;
  }
  out.name += "-" + std::to_string(number);
  return out;
}

ModelBuilder& ModelBuilder::service(const std::string& namespace_, const std::string& name,
                                    Labels selector, std::vector<ServicePort> ports) {
  Service service;
  service.meta = meta(namespace_, name);
  service.selector = std::move(selector);
  service.ports = std::move(ports);
  model_.services[objectKey(namespace_, name)] =
      std::make_shared<const Service>(std::move(service));
  return *this;
}

ModelBuilder& ModelBuilder::workload(const std::string& namespace_, const std::string& name,
                                     Labels labels, std::string_view spec_yaml) {
  Workload workload;
  workload.meta = meta(namespace_, name, std::move(labels));
  workload.spec = load<weft::mesh::v1alpha1::WorkloadSpec>(spec_yaml, "Workload " + name);
  model_.workloads[objectKey(namespace_, name)] =
      std::make_shared<const Workload>(std::move(workload));
  return *this;
}

ModelBuilder& ModelBuilder::trafficRoute(const std::string& namespace_, const std::string& name,
                                         std::string_view spec_yaml) {
  TrafficRoute route{meta(namespace_, name), load<weft::mesh::v1alpha1::TrafficRouteSpec>(
                                                 spec_yaml, "TrafficRoute " + name)};
  model_.traffic_routes[objectKey(namespace_, name)] =
      std::make_shared<const TrafficRoute>(std::move(route));
  return *this;
}

ModelBuilder& ModelBuilder::destinationPolicy(const std::string& namespace_,
                                              const std::string& name, std::string_view spec_yaml) {
  DestinationPolicy policy{
      meta(namespace_, name),
      load<weft::mesh::v1alpha1::DestinationPolicySpec>(spec_yaml, "DestinationPolicy " + name)};
  model_.destination_policies[objectKey(namespace_, name)] =
      std::make_shared<const std::decay_t<decltype(policy)>>(std::move(policy));
  return *this;
}

ModelBuilder& ModelBuilder::authorizationPolicy(const std::string& namespace_,
                                                const std::string& name,
                                                std::string_view spec_yaml) {
  AuthorizationPolicy policy{meta(namespace_, name),
                             load<weft::mesh::v1alpha1::AuthorizationPolicySpec>(
                                 spec_yaml, "AuthorizationPolicy " + name)};
  model_.authorization_policies[objectKey(namespace_, name)] =
      std::make_shared<const std::decay_t<decltype(policy)>>(std::move(policy));
  return *this;
}

ModelBuilder& ModelBuilder::peerAuthentication(const std::string& namespace_,
                                               const std::string& name,
                                               std::string_view spec_yaml) {
  PeerAuthentication policy{
      meta(namespace_, name),
      load<weft::mesh::v1alpha1::PeerAuthenticationSpec>(spec_yaml, "PeerAuthentication " + name)};
  model_.peer_authentications[objectKey(namespace_, name)] =
      std::make_shared<const PeerAuthentication>(std::move(policy));
  return *this;
}

ModelBuilder& ModelBuilder::meshConfig(std::string_view spec_yaml) {
  auto config = std::make_shared<MeshConfig>();
  config->meta = meta(kRootNamespace, "default");
  config->spec = load<weft::mesh::v1alpha1::MeshConfigSpec>(spec_yaml, "MeshConfig default");
  model_.mesh_config = std::move(config);
  return *this;
}

weft::v1::Node proxyNode(const std::string& namespace_, const std::string& workload,
                         const weft::v1::Locality& locality) {
  weft::v1::Node node;
  node.set_id(workload + "." + namespace_);
  node.set_workload_name(workload);
  node.set_namespace_(namespace_);
  *node.mutable_locality() = locality;
  return node;
}

}  // namespace weft::controlplane::testing
