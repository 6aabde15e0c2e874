#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/model/mesh_model.h"
#include "controlplane/translate/mesh_settings.h"
#include "controlplane/translate/problem_log.h"

namespace weft::controlplane {

// Index of a service in ServiceCatalog::services().
using ServiceId = uint32_t;

// A Service with what the model says about it elsewhere: the workloads behind it and its
// DestinationPolicy.
struct CatalogService {
  const Service* service = nullptr;
  std::string fqdn;
  // Ready workloads the selector picks (same namespace, labels contain every selector entry),
  // in namespace/name order.
  std::vector<const Workload*> workloads;
  // The DestinationPolicy for this service; the first by namespace/name when several name it.
  const DestinationPolicy* policy = nullptr;
  // The policy's subsets, first of each name.
  std::vector<const weft::mesh::v1alpha1::Subset*> subsets;

  const std::string& name() const { return service->meta.name; }
  const std::string& namespace_() const { return service->meta.namespace_; }
};

// Lookups over one model: which workloads a service selects, which services select a
// workload, which service a host name means. Built once per model; read-only afterwards.
class ServiceCatalog {
 public:
  ServiceCatalog(const MeshModel& model, const MeshSettings& settings, ProblemLog& problems);

  // Every service, in namespace/name order; a ServiceId indexes this vector.
  const std::vector<CatalogService>& services() const { return services_; }
  const CatalogService& service(ServiceId id) const { return services_[id]; }

  // The service a host means when written in `namespace_`: "reviews" (same namespace),
  // "reviews.default", "reviews.default.svc" or the FQDN, as Kubernetes DNS resolves them.
  std::optional<ServiceId> resolveHost(std::string_view host, std::string_view namespace_) const;

  // Services of a namespace, in name order (empty for an unknown namespace).
  const std::vector<ServiceId>& servicesIn(const std::string& namespace_) const;

  // Services selecting the workload, ready or not, in namespace/name order.
  const std::vector<ServiceId>& servicesSelecting(const Workload& workload) const;

  const Workload* findWorkload(const std::string& namespace_, const std::string& name) const;

  // The subset of a service's DestinationPolicy by name, if defined.
  static const weft::mesh::v1alpha1::Subset* findSubset(const CatalogService& service,
                                                        std::string_view name);

  static const ServicePort* findPort(const Service& service, uint32_t port);

  // The port `workload` serves `port` on: targetPort by number, by name from the workload's
  // spec.ports, or the service port itself when targetPort is not given (as in Kubernetes).
  // nullopt when a named targetPort is not among the workload's ports.
  static std::optional<uint32_t> targetPort(const ServicePort& port, const Workload& workload);

 private:
  void attachPolicies(const MeshModel& model, ProblemLog& problems);

  const MeshModel& model_;
  std::string dns_suffix_;
  std::vector<CatalogService> services_;
  std::map<std::string, ServiceId, std::less<>> by_key_;
  std::map<std::string, std::vector<ServiceId>, std::less<>> by_namespace_;
  std::map<std::string, std::vector<ServiceId>, std::less<>> by_workload_;
};

// True for the ports requests are routed on (HTTP/1.1, HTTP/2, gRPC).
inline bool isHttp(PortProtocol protocol) {
  return protocol != PortProtocol::kTcp;
}

// True when every selector entry is among the labels (a std::map or a protobuf map).
template <class Selector>
bool labelsMatch(const std::map<std::string, std::string>& labels, const Selector& selector) {
  for (const auto& entry : selector) {
    auto it = labels.find(entry.first);
    if (it == labels.end() || it->second != entry.second) {
      return false;
    }
  }
  return true;
}

}  // namespace weft::controlplane
