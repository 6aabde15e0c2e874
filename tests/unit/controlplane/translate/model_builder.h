#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/model/mesh_model.h"
#include "weft/v1/core.pb.h"

namespace weft::controlplane::testing {

using Labels = std::map<std::string, std::string>;

// A service port: `target` 0 means "same as the port" unless `target_name` is given.
ServicePort port(uint32_t number, PortProtocol protocol = PortProtocol::kHttp, uint32_t target = 0,
                 std::string target_name = {});

// Builds a MeshModel the way a source would: Services from C++ (they are core/v1 objects,
// not weft.dev specs) and the weft.dev specs from YAML as a user writes them in manifests,
// loaded and validated with weft::config::loadYaml. A spec that does not load fails the
// current test.
class ModelBuilder {
 public:
  ModelBuilder& service(const std::string& namespace_, const std::string& name, Labels selector,
                        std::vector<ServicePort> ports);
  ModelBuilder& workload(const std::string& namespace_, const std::string& name, Labels labels,
                         std::string_view spec_yaml);
  ModelBuilder& trafficRoute(const std::string& namespace_, const std::string& name,
                             std::string_view spec_yaml);
  ModelBuilder& destinationPolicy(const std::string& namespace_, const std::string& name,
                                  std::string_view spec_yaml);
  ModelBuilder& authorizationPolicy(const std::string& namespace_, const std::string& name,
                                    std::string_view spec_yaml);
  ModelBuilder& peerAuthentication(const std::string& namespace_, const std::string& name,
                                   std::string_view spec_yaml);
  ModelBuilder& meshConfig(std::string_view spec_yaml);

  // Direct access, for tests that change one object of a copy.
  MeshModel& model() { return model_; }
  // Replaces a workload with an edited copy (models hold immutable objects).
  template <class Edit>
  ModelBuilder& editWorkload(const std::string& namespace_, const std::string& name, Edit edit) {
    auto& slot = model_.workloads.at(objectKey(namespace_, name));
    auto copy = std::make_shared<Workload>(*slot);
    edit(*copy);
    slot = std::move(copy);
    return *this;
  }

  MeshModelPtr build() const { return std::make_shared<const MeshModel>(model_); }

 private:
  MeshModel model_;
};

// The Node a proxy of this workload sends; id "<workload>.<namespace>".
weft::v1::Node proxyNode(const std::string& namespace_, const std::string& workload,
                         const weft::v1::Locality& locality = {});

}  // namespace weft::controlplane::testing
