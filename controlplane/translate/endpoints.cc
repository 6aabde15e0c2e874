#include "controlplane/translate/endpoints.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <vector>

#include "controlplane/translate/names.h"

namespace weft::controlplane {
namespace {

struct PlacedEndpoint {
  const weft::v1::Locality* locality;
  const std::string* address;
  uint32_t port;
  const Workload* workload;
  bool mtls_ready;
};

auto localityTuple(const weft::v1::Locality& locality) {
  return std::tie(locality.region(), locality.zone(), locality.subzone());
}

bool sameField(const std::string& a, const std::string& b) {
  return a.empty() || b.empty() || a == b;
}

}  // namespace

bool SidecarTls::acceptsOn(uint32_t port) const {
  if (kind == Kind::kNone) {
    return false;
  }
  if (kind == Kind::kCapture) {
    for (const auto& [listed, listed_mode] : port_modes) {
      if (listed == port) {
        return listed_mode != weft::v1::DownstreamTls::DISABLE;
      }
    }
  }
  return mode != weft::v1::DownstreamTls::DISABLE;
}

weft::v1::ClusterLoadAssignment outboundAssignment(
    const std::string& cluster_name, const CatalogService& service, const ServicePort& port,
    const weft::mesh::v1alpha1::Subset* subset, const MeshSettings& settings,
    UpstreamSecurity security, const std::vector<SidecarTls>& sidecars, ProblemLog& problems) {
  std::vector<PlacedEndpoint> placed;
  placed.reserve(service.workloads.size());
  for (size_t index = 0; index < service.workloads.size(); ++index) {
    const Workload* workload = service.workloads[index];
    if (subset != nullptr && !labelsMatch(workload->meta.labels, subset->labels())) {
      continue;
    }
    const auto target = ServiceCatalog::targetPort(port, *workload);
    if (!target) {
      problems.add("Service " + objectKey(service.namespace_(), service.name()) + " port " +
                   std::to_string(port.port) + ": Workload " +
                   objectKey(workload->meta.namespace_, workload->meta.name) +
                   " has no port named \"" + port.target_port_name +
                   "\"; it gets no traffic on this port");
      continue;
    }
    const auto& spec = workload->spec;
    const bool via_sidecar = spec.has_sidecar() && isHttp(port.protocol);
    // Only the sidecar terminates mesh TLS; a TCP port of a local-mode workload is the
    // application itself. A capturing sidecar receives every port, HTTP or TCP.
    const bool behind_sidecar = via_sidecar || sidecars[index].kind == SidecarTls::Kind::kCapture;
    const bool mtls_ready = security == UpstreamSecurity::kMeshAlways ||
                            (behind_sidecar && sidecars[index].acceptsOn(*target));
    placed.push_back({&spec.locality(), &spec.address(),
                      via_sidecar ? spec.sidecar().inbound_port() : *target, workload, mtls_ready});
  }
  std::sort(placed.begin(), placed.end(), [](const PlacedEndpoint& a, const PlacedEndpoint& b) {
    const auto ka = localityTuple(*a.locality);
    const auto kb = localityTuple(*b.locality);
    if (ka != kb) {
      return ka < kb;
    }
    return std::tie(*a.address, a.port, a.workload->meta.name) <
           std::tie(*b.address, b.port, b.workload->meta.name);
  });

  weft::v1::ClusterLoadAssignment assignment;
  assignment.set_cluster_name(cluster_name);
  weft::v1::LocalityLbEndpoints* group = nullptr;
  for (const PlacedEndpoint& endpoint : placed) {
    if (group == nullptr || localityTuple(group->locality()) != localityTuple(*endpoint.locality)) {
      group = assignment.add_endpoints();
      *group->mutable_locality() = *endpoint.locality;
      if (group->locality().ByteSizeLong() == 0) {
        group->clear_locality();
      }
    }
    auto& lb_endpoint = *group->add_lb_endpoints();
    auto& address = *lb_endpoint.mutable_endpoint()->mutable_address();
    address.set_address(*endpoint.address);
    address.set_port(endpoint.port);
    const auto& meta = endpoint.workload->meta;
    const std::string& account = endpoint.workload->spec.service_account();
    lb_endpoint.set_identity(
        spiffeId(settings.trust_domain, meta.namespace_, account.empty() ? "default" : account));
    if (security != UpstreamSecurity::kPlaintext) {
      lb_endpoint.mutable_mtls_ready()->set_value(endpoint.mtls_ready);
    }
    lb_endpoint.mutable_metadata()->set_workload(meta.name);
    lb_endpoint.mutable_metadata()->set_namespace_(meta.namespace_);
  }
  return assignment;
}

weft::v1::ClusterLoadAssignment prioritizedByLocality(
    const weft::v1::ClusterLoadAssignment& assignment, const weft::v1::Locality& proxy) {
  weft::v1::ClusterLoadAssignment out = assignment;
  std::set<uint32_t> used;
  for (auto& group : *out.mutable_endpoints()) {
    const auto& locality = group.locality();
    uint32_t priority = 2;
    if (sameField(locality.region(), proxy.region())) {
      priority = sameField(locality.zone(), proxy.zone()) ? 0 : 1;
    }
    group.set_priority(priority);
    used.insert(priority);
  }
  // Priorities must be contiguous from 0: with no endpoint in the proxy's zone, the nearest
  // ones become priority 0.
  for (auto& group : *out.mutable_endpoints()) {
    group.set_priority(
        static_cast<uint32_t>(std::distance(used.begin(), used.find(group.priority()))));
  }
  return out;
}

}  // namespace weft::controlplane
