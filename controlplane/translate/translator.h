#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "controlplane/model/mesh_model.h"
#include "controlplane/resources/built_resource.h"
#include "controlplane/translate/authorization.h"
#include "controlplane/translate/endpoints.h"
#include "controlplane/translate/http_routes.h"
#include "controlplane/translate/inbound.h"
#include "controlplane/translate/mesh_settings.h"
#include "controlplane/translate/peer_authentication.h"
#include "controlplane/translate/problem_log.h"
#include "controlplane/translate/service_catalog.h"
#include "weft/v1/core.pb.h"
#include "weft/v1/endpoint.pb.h"

namespace weft::controlplane {

// Turns one mesh model into the xDS resources of each proxy (ARCHITECTURE.md §4: model ->
// translate -> snapshot cache).
//
// Work is shared as widely as the resources are: the clusters and endpoints of a service
// are built once per model and the same BuiltResourcePtr goes to every proxy that sees the
// service; the outbound listener and route configurations are built once per scope (the
// proxies of one namespace in the same mode) and the inbound side once per workload. So
// forProxy() for the 1,000th proxy of a namespace copies pointers. A new model gets a new
// Translator; versions are content hashes, so whatever did not change keeps its version.
//
// Given the previous model's Translator, a new one takes over what cannot have changed
// instead of building it again: models share unchanged objects by pointer, so a service
// whose Service object, DestinationPolicy, selected Workloads and MeshConfig are the same
// objects as before has the same clusters and endpoints, and a workload whose object and
// selecting services, PeerAuthentications and AuthorizationPolicy names are the same has the
// same inbound side. An endpoint change in a mesh of 1,000 services then rebuilds one service
// and the inbound side of one workload.
//
// Security (docs/drafts/translation-security.md). Given the mesh's trust bundle (the
// certificate authority's roots), inbound chains terminate mesh TLS in the mode
// PeerAuthentication resolves for the port, clusters of mesh services use mesh mTLS
// (DestinationPolicy tls AUTO, MESH or DISABLE), endpoints say whether their sidecar accepts
// it, and proxies that use mesh TLS get the "trust-bundle" Secret. Without a trust bundle no
// proxy can hold a workload certificate, so nothing is TLS and PeerAuthentications are reported
// as not enforced. AuthorizationPolicies are translated either way; each proxy gets the ones
// its inbound chains list. Not translated yet: DestinationPolicy tls SIMPLE, MeshConfig tracing
// and access logging, reported when set.
//
// A Translator is used from one thread: forProxy() fills its memo tables. Concurrent
// translation means one Translator per thread (each computes its own shared resources).
class Translator {
 public:
  // `previous`, when given, is the Translator of an earlier model; it is only read, and may be
  // destroyed once this constructor returns. `trust_bundle_pem`: the PEM roots of the mesh's
  // certificate authority; null when there is none (then no mTLS is configured).
  explicit Translator(MeshModelPtr model, const Translator* previous = nullptr,
                      std::shared_ptr<const std::string> trust_bundle_pem = nullptr);
  ~Translator();

  Translator(const Translator&) = delete;
  Translator& operator=(const Translator&) = delete;

  // Everything the proxy described by `node` should have. The proxy's own workload is the
  // Workload named node.workload_name in node.namespace: with a sidecar block the proxy runs
  // in local mode (listeners on its own ports), otherwise with traffic capture (15001/15006).
  ProxyResources forProxy(const weft::v1::Node& node);

  // What could not be translated as written, in plain sentences naming the objects; sorted.
  // Problems of the model as a whole are known after construction; those of one scope (a
  // namespace's port conflicts under capture) once a proxy of that scope was translated.
  std::vector<std::string> problems() const { return problems_.messages(); }

  const MeshModel& model() const { return *model_; }

 private:
  // An outbound cluster (a service port or one of its subsets) with its endpoints.
  struct OutboundCluster {
    BuiltResourcePtr cluster;
    // Uses mesh mTLS, so its clients need the trust bundle.
    bool mesh_tls = false;
    // Shared by every proxy. Null for locality-aware load balancing, where the priorities
    // depend on the proxy's locality: then built per locality from `assignment`.
    BuiltResourcePtr endpoints;
    std::shared_ptr<const weft::v1::ClusterLoadAssignment> assignment;
    bool http = true;
  };

  // A port of a service: its virtual host, serialized on first use, for clients in the
  // service's namespace (index 1, with the short name) and elsewhere (index 0).
  struct PortResources {
    const ServicePort* port = nullptr;
    std::array<std::string, 2> vhost;
    std::array<bool, 2> vhost_built = {false, false};
  };

  struct ServiceResources {
    std::vector<PortResources> ports;       // in the service's order
    std::vector<OutboundCluster> clusters;  // sorted by name
    // What the resources were built from (objects of the model, immutable), and what could
    // not be translated then: a later Translator reuses them when its inputs are the same.
    const DestinationPolicy* policy = nullptr;
    std::vector<const Workload*> workloads;
    // Per workload, how its sidecar takes mesh mTLS (from PeerAuthentication).
    std::vector<SidecarTls> sidecars;
    std::vector<std::string> problems;
  };

  struct InboundEntry {
    InboundResources resources;
    // Built from these (see ServiceResources).
    const Workload* workload = nullptr;
    std::vector<const Service*> services;
    InboundSecurity security;
    std::vector<std::string> problems;
  };

  // Clusters and endpoints of a set of services, in name order.
  struct OutboundLists {
    std::vector<BuiltResourcePtr> clusters;
    std::vector<BuiltResourcePtr> endpoints;
    // Entries of `endpoints` that depend on the proxy's locality (left null there).
    std::vector<std::pair<size_t, const OutboundCluster*>> localized;
    // Some cluster uses mesh mTLS.
    bool mesh_tls = false;
  };

  // The "outbound" listener (null when it would have no chain) and the route configurations
  // it names.
  struct OutboundListener {
    BuiltResourcePtr listener;
    // With traffic capture: the same listener on [::], for proxies whose pod has IPv6.
    BuiltResourcePtr listener_ipv6;
    std::vector<BuiltResourcePtr> routes;
    // With traffic capture: the catch-all chain's cluster (passthrough or blackhole).
    BuiltResourcePtr fallback_cluster;
  };

  // What the proxies of one namespace share, built when the first of them is translated.
  struct NamespaceScope {
    std::vector<ServiceId> visible;  // in FQDN order
    OutboundLists all;               // with traffic capture
    OutboundLists http_only;         // local mode, where TCP is not reachable
    // With traffic capture: one listener for every proxy of the namespace.
    std::optional<OutboundListener> capture;
    // Local mode: the route configuration of every visible HTTP port, one resource for every
    // sidecar of the namespace (each has its own listener port, but they share the routes).
    BuiltResourcePtr local_routes;
  };

  void buildServices(const Translator* previous);
  void buildService(ServiceId id, ServiceResources& resources);
  void reportUntranslated();
  const SidecarTls& sidecarTls(const Workload& workload);
  NamespaceScope& namespaceScope(const std::string& namespace_);
  const OutboundListener& captureOutbound(const std::string& namespace_, NamespaceScope& scope);
  // `listener` with MeshConfig's telemetry settings (access logs) on its chains.
  weft::v1::Listener withMeshTelemetry(weft::v1::Listener listener) const;
  const OutboundListener& localOutbound(const std::string& namespace_, NamespaceScope& scope,
                                        uint32_t outbound_port);
  const std::string& virtualHostBytes(ServiceId id, PortResources& port, bool same_namespace);
  const InboundResources& inboundFor(const Workload& workload);
  BuiltResourcePtr localizedEndpoints(const OutboundCluster& cluster,
                                      const weft::v1::Locality& locality);

  MeshModelPtr model_;
  MeshSettings settings_;
  std::shared_ptr<const std::string> trust_bundle_pem_;
  // A certificate authority exists, so the mesh uses mTLS.
  bool mesh_mtls_ = false;
  ProblemLog problems_;
  std::unique_ptr<ServiceCatalog> catalog_;
  std::unique_ptr<PeerAuthentications> peer_authentications_;
  std::unique_ptr<AuthorizationPolicies> authorization_;
  // The "trust-bundle" Secret; null without a trust bundle.
  BuiltResourcePtr trust_bundle_secret_;
  std::map<const Workload*, SidecarTls> sidecar_tls_;
  std::unique_ptr<HttpRouteTable> routes_;
  std::vector<ServiceResources> services_;  // by ServiceId
  // Position of each service in FQDN order, which is also the order of their cluster names.
  std::vector<uint32_t> fqdn_rank_;
  std::map<std::string, std::unique_ptr<NamespaceScope>, std::less<>> namespaces_;
  // Local mode, by namespace and outbound port.
  std::map<std::pair<std::string, uint32_t>, OutboundListener> local_outbound_;
  std::map<std::string, InboundEntry, std::less<>> inbound_;
  // Service objects of this model, to find a service of the previous model by identity.
  std::map<const Service*, ServiceId> service_ids_;
  // The inbound entries and local-mode listeners of the previous Translator, for reuse when
  // proxies are translated.
  std::map<std::string, InboundEntry, std::less<>> previous_inbound_;
  std::map<std::pair<std::string, uint32_t>, BuiltResourcePtr> previous_local_listeners_;
  // The previous model, kept alive so that the objects previous_inbound_ points to are not
  // freed and their addresses not reused by other objects while they are compared.
  MeshModelPtr previous_model_;
  std::map<std::string, BuiltResourcePtr, std::less<>> localized_;
};

}  // namespace weft::controlplane
