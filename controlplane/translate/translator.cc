#include "controlplane/translate/translator.h"

#include <arpa/inet.h>

#include <algorithm>
#include <numeric>

#include "controlplane/translate/clusters.h"
#include "controlplane/translate/endpoints.h"
#include "controlplane/translate/listeners.h"
#include "controlplane/translate/names.h"
#include "controlplane/translate/virtual_hosts.h"
#include "controlplane/translate/visibility.h"
#include "weft/v1/secret.pb.h"

namespace weft::controlplane {

namespace {

// An IPv6 address other than loopback and link-local: the pod's IPv6 traffic is captured
// (`weft-proxy init --ipv6 auto` writes ip6tables rules for such a pod).
bool hasRoutableIpv6(const weft::v1::Node& node) {
  for (const std::string& text : node.ip_addresses()) {
    in6_addr address{};
    if (inet_pton(AF_INET6, text.c_str(), &address) != 1 || IN6_IS_ADDR_LOOPBACK(&address) ||
        IN6_IS_ADDR_LINKLOCAL(&address) || IN6_IS_ADDR_V4MAPPED(&address)) {
      continue;
    }
    return true;
  }
  return false;
}

}  // namespace
namespace {

// Namespace of a proxy that did not say (as for manifests without one).
constexpr const char* kDefaultNamespace = "default";

std::string serviceList(const ServiceCatalog& catalog, const std::vector<ServiceId>& ids) {
  std::string text;
  for (ServiceId id : ids) {
    text.append(text.empty() ? "" : ", ").append(catalog.service(id).fqdn);
  }
  return text;
}

}  // namespace

Translator::Translator(MeshModelPtr model, const Translator* previous,
                       std::shared_ptr<const std::string> trust_bundle_pem)
    : model_(std::move(model)),
      settings_(meshSettings(*model_)),
      trust_bundle_pem_(std::move(trust_bundle_pem)),
      mesh_mtls_(trust_bundle_pem_ != nullptr) {
  // Everything a previous Translator built assumed its MeshConfig, and whether there was mTLS.
  if (previous != nullptr && (previous->model_->mesh_config != model_->mesh_config ||
                              previous->mesh_mtls_ != mesh_mtls_)) {
    previous = nullptr;
  }
  catalog_ = std::make_unique<ServiceCatalog>(*model_, settings_, problems_);
  peer_authentications_ = std::make_unique<PeerAuthentications>(*model_, problems_);
  authorization_ = std::make_unique<AuthorizationPolicies>(
      *model_, settings_, mesh_mtls_,
      previous == nullptr ? nullptr : previous->authorization_.get(), problems_);
  routes_ = std::make_unique<HttpRouteTable>(*model_, *catalog_, settings_, problems_);
  buildServices(previous);
  reportUntranslated();
  if (mesh_mtls_) {
    if (previous != nullptr && *previous->trust_bundle_pem_ == *trust_bundle_pem_) {
      trust_bundle_secret_ = previous->trust_bundle_secret_;
    } else {
      weft::v1::Secret secret;
      secret.set_name(std::string(kTrustBundleSecret));
      secret.mutable_validation_context()->set_trusted_ca(*trust_bundle_pem_);
      secret.mutable_validation_context()->set_trust_domain(settings_.trust_domain);
      trust_bundle_secret_ = buildResource(ResourceType::kSecret, secret.name(), secret);
    }
  }
  const auto& services = catalog_->services();
  std::vector<ServiceId> by_fqdn(services.size());
  std::iota(by_fqdn.begin(), by_fqdn.end(), 0);
  std::sort(by_fqdn.begin(), by_fqdn.end(),
            [&](ServiceId a, ServiceId b) { return services[a].fqdn < services[b].fqdn; });
  fqdn_rank_.resize(services.size());
  for (uint32_t rank = 0; rank < by_fqdn.size(); ++rank) {
    fqdn_rank_[by_fqdn[rank]] = rank;
  }
  if (previous != nullptr) {
    previous_model_ = previous->model_;
    previous_inbound_ = previous->inbound_;
    for (const auto& [key, outbound] : previous->local_outbound_) {
      previous_local_listeners_.emplace(key, outbound.listener);
    }
  }
}

Translator::~Translator() = default;

weft::v1::Listener Translator::withMeshTelemetry(weft::v1::Listener listener) const {
  setTelemetry(listener, ChainTelemetry{settings_.access_log, settings_.tracing});
  return listener;
}

void Translator::buildServices(const Translator* previous) {
  services_.resize(catalog_->services().size());
  for (ServiceId id = 0; id < services_.size(); ++id) {
    const CatalogService& service = catalog_->service(id);
    service_ids_.emplace(service.service, id);
    std::vector<SidecarTls> sidecars;
    sidecars.reserve(service.workloads.size());
    for (const Workload* workload : service.workloads) {
      sidecars.push_back(sidecarTls(*workload));
    }
    if (previous != nullptr) {
      auto found = previous->service_ids_.find(service.service);
      if (found != previous->service_ids_.end()) {
        const ServiceResources& before = previous->services_[found->second];
        if (before.policy == service.policy && before.workloads == service.workloads &&
            before.sidecars == sidecars) {
          ServiceResources& resources = services_[id];
          resources = before;
          // Virtual hosts depend on the routes too; they are serialized again when used.
          for (PortResources& port : resources.ports) {
            port.vhost_built = {false, false};
            port.vhost = {};
          }
          for (const std::string& problem : resources.problems) {
            problems_.add(problem);
          }
          continue;
        }
      }
    }
    services_[id].sidecars = std::move(sidecars);
    buildService(id, services_[id]);
  }
}

const SidecarTls& Translator::sidecarTls(const Workload& workload) {
  auto [entry, inserted] = sidecar_tls_.emplace(&workload, SidecarTls{});
  if (!inserted) {
    return entry->second;
  }
  // The model knows a workload runs a sidecar from its sidecar block (local mode) or its
  // trafficCapture flag only.
  SidecarTls& tls = entry->second;
  if (!mesh_mtls_ || (!workload.spec.has_sidecar() && !workload.spec.traffic_capture())) {
    return tls;
  }
  const PeerAuthenticationScopes scopes = peer_authentications_->forWorkload(workload);
  if (workload.spec.has_sidecar()) {
    tls.kind = SidecarTls::Kind::kLocal;
    tls.mode = scopes.strictestMode();
    return tls;
  }
  tls.kind = SidecarTls::Kind::kCapture;
  tls.mode = scopes.modeFor(0);  // port 0 is never a port_modes key: every other port
  if (scopes.selector != nullptr) {
    for (const auto& [port, mode] : scopes.selector->spec.port_modes()) {
      tls.port_modes.emplace_back(port, scopes.modeFor(port));
    }
    std::sort(tls.port_modes.begin(), tls.port_modes.end());
  }
  return tls;
}

void Translator::buildService(ServiceId id, ServiceResources& resources) {
  const CatalogService& service = catalog_->service(id);
  resources.policy = service.policy;
  resources.workloads = service.workloads;
  ProblemLog problems;
  if (service.policy != nullptr) {
    const std::string what = "DestinationPolicy " +
                             objectKey(service.policy->meta.namespace_, service.policy->meta.name);
    checkTrafficPolicy(service.policy->spec.traffic_policy(), what, mesh_mtls_, problems);
    for (const auto* subset : service.subsets) {
      checkTrafficPolicy(subset->traffic_policy(), what + " subset " + subset->name(), mesh_mtls_,
                         problems);
    }
  }
  // Each subset's policy once, for all ports.
  std::vector<const weft::mesh::v1alpha1::Subset*> subsets{nullptr};
  subsets.insert(subsets.end(), service.subsets.begin(), service.subsets.end());
  std::vector<weft::mesh::v1alpha1::TrafficPolicy> policies;
  for (const auto* subset : subsets) {
    policies.push_back(effectiveTrafficPolicy(service, subset));
  }
  for (const ServicePort& port : service.service->ports) {
    resources.ports.push_back({&port, {}, {false, false}});
    for (size_t i = 0; i < subsets.size(); ++i) {
      // Subsets are chosen by TrafficRoute backends, which are HTTP only.
      if (subsets[i] != nullptr && !isHttp(port.protocol)) {
        continue;
      }
      const std::string subset_name = subsets[i] == nullptr ? "" : subsets[i]->name();
      const std::string name = outboundClusterName(service.fqdn, port.port, subset_name);
      OutboundCluster cluster;
      cluster.http = isHttp(port.protocol);
      const UpstreamSecurity security = upstreamSecurity(policies[i], mesh_mtls_);
      cluster.mesh_tls = security != UpstreamSecurity::kPlaintext;
      cluster.cluster = buildResource(
          ResourceType::kCluster, name,
          outboundCluster(name, service.fqdn, port.protocol, policies[i], security, settings_));
      auto assignment = std::make_shared<weft::v1::ClusterLoadAssignment>(outboundAssignment(
          name, service, port, subsets[i], settings_, security, resources.sidecars, problems));
      if (policies[i].load_balancer().locality_aware()) {
        cluster.assignment = std::move(assignment);
      } else {
        cluster.endpoints = buildResource(ResourceType::kEndpoints, name, *assignment);
      }
      resources.clusters.push_back(std::move(cluster));
    }
  }
  std::sort(resources.clusters.begin(), resources.clusters.end(),
            [](const OutboundCluster& a, const OutboundCluster& b) {
              return a.cluster->name < b.cluster->name;
            });
  resources.problems = problems.messages();
  for (const std::string& problem : resources.problems) {
    problems_.add(problem);
  }
}

void Translator::reportUntranslated() {
  if (model_->mesh_config) {
    const auto& spec = model_->mesh_config->spec;
    const std::string what = "MeshConfig " + objectKey(model_->mesh_config->meta.namespace_,
                                                       model_->mesh_config->meta.name);
    if (spec.tracing().exporter() != weft::mesh::v1alpha1::Tracing::NONE) {
      problems_.add(what +
                    ": tracing: sampling and propagation reach every sidecar, but spans are "
                    "exported only by sidecars whose bootstrap has a tracing exporter (sidecar "
                    "injection, which would add it, is not built yet)");
    }
  }
  if (!mesh_mtls_) {
    for (const auto& [key, policy] : model_->peer_authentications) {
      problems_.add("PeerAuthentication " + key +
                    ": not enforced, since the control plane has no certificate authority: "
                    "without workload certificates traffic stays plaintext");
    }
  }
}

ProxyResources Translator::forProxy(const weft::v1::Node& node) {
  const std::string namespace_ = node.namespace_().empty() ? kDefaultNamespace : node.namespace_();
  const Workload* workload = node.workload_name().empty()
                                 ? nullptr
                                 : catalog_->findWorkload(namespace_, node.workload_name());
  const bool local = workload != nullptr && workload->spec.has_sidecar();
  NamespaceScope& scope = namespaceScope(namespace_);
  const OutboundLists& lists = local ? scope.http_only : scope.all;
  const OutboundListener& outbound =
      local ? localOutbound(namespace_, scope, workload->spec.sidecar().outbound_port())
            : captureOutbound(namespace_, scope);
  const InboundResources* inbound = workload == nullptr ? nullptr : &inboundFor(*workload);
  // A pod with IPv6 gets its capture listeners on [::] too (node.ip_addresses, as the
  // injector writes them from the pod's IPs).
  const bool ipv6 = !local && hasRoutableIpv6(node);

  // Every inbound name sorts before every outbound name ("inbound" < "outbound"), so each
  // list is the inbound part followed by the outbound part; "<name>-ipv6" follows "<name>".
  ProxyResources resources;
  auto& clusters = resources.of(ResourceType::kCluster);
  auto& routes = resources.of(ResourceType::kRoute);
  auto& listeners = resources.of(ResourceType::kListener);
  if (inbound != nullptr) {
    clusters.reserve(inbound->clusters.size() + lists.clusters.size());
    clusters = inbound->clusters;
    routes = inbound->routes;
    if (inbound->listener) {
      listeners.push_back(inbound->listener);
    }
    if (ipv6 && inbound->listener_ipv6) {
      listeners.push_back(inbound->listener_ipv6);
    }
  }
  clusters.insert(clusters.end(), lists.clusters.begin(), lists.clusters.end());
  if (outbound.fallback_cluster) {
    // In name order with the rest ("blackhole" first, "passthrough" last).
    const auto at =
        std::lower_bound(clusters.begin(), clusters.end(), outbound.fallback_cluster->name,
                         [](const BuiltResourcePtr& resource, const std::string& name) {
                           return resource->name < name;
                         });
    clusters.insert(at, outbound.fallback_cluster);
  }
  routes.insert(routes.end(), outbound.routes.begin(), outbound.routes.end());
  if (outbound.listener) {
    listeners.push_back(outbound.listener);
  }
  if (ipv6 && outbound.listener_ipv6) {
    listeners.push_back(outbound.listener_ipv6);
  }
  auto& endpoints = resources.of(ResourceType::kEndpoints);
  endpoints = lists.endpoints;
  for (const auto& [index, cluster] : lists.localized) {
    endpoints[index] = localizedEndpoints(*cluster, node.locality());
  }
  if (inbound != nullptr) {
    // Sorted already; only the policies the proxy's chains list are its business.
    for (const std::string& name : inbound->policies) {
      resources.of(ResourceType::kAuthorization).push_back(authorization_->resource(name));
    }
  }
  if (trust_bundle_secret_ && ((inbound != nullptr && inbound->mesh_tls) || lists.mesh_tls)) {
    resources.of(ResourceType::kSecret).push_back(trust_bundle_secret_);
  }
  return resources;
}

Translator::NamespaceScope& Translator::namespaceScope(const std::string& namespace_) {
  auto found = namespaces_.find(namespace_);
  if (found != namespaces_.end()) {
    return *found->second;
  }
  auto scope = std::make_unique<NamespaceScope>();
  scope->visible = visibleServices(namespace_, *catalog_, *routes_, settings_);
  // Cluster names start with "outbound/<fqdn>:", and no FQDN of the mesh is a prefix of
  // another (they share the suffix and have the same number of labels), so services in FQDN
  // order give their clusters in name order.
  std::sort(scope->visible.begin(), scope->visible.end(),
            [&](ServiceId a, ServiceId b) { return fqdn_rank_[a] < fqdn_rank_[b]; });
  auto add = [](OutboundLists& lists, const OutboundCluster& cluster) {
    lists.clusters.push_back(cluster.cluster);
    lists.mesh_tls = lists.mesh_tls || cluster.mesh_tls;
    if (!cluster.endpoints) {
      lists.localized.emplace_back(lists.endpoints.size(), &cluster);
    }
    lists.endpoints.push_back(cluster.endpoints);
  };
  for (ServiceId id : scope->visible) {
    for (const OutboundCluster& cluster : services_[id].clusters) {
      add(scope->all, cluster);
      if (cluster.http) {
        add(scope->http_only, cluster);
      }
    }
  }
  return *namespaces_.emplace(namespace_, std::move(scope)).first->second;
}

const Translator::OutboundListener& Translator::localOutbound(const std::string& namespace_,
                                                              NamespaceScope& scope,
                                                              uint32_t outbound_port) {
  auto key = std::make_pair(namespace_, outbound_port);
  auto found = local_outbound_.find(key);
  if (found != local_outbound_.end()) {
    return found->second;
  }
  if (!scope.local_routes) {
    std::vector<const std::string*> vhosts;
    for (ServiceId id : scope.visible) {
      const bool same_namespace = catalog_->service(id).namespace_() == namespace_;
      for (PortResources& port : services_[id].ports) {
        if (isHttp(port.port->protocol)) {
          vhosts.push_back(&virtualHostBytes(id, port, same_namespace));
        }
      }
    }
    scope.local_routes = assembleRouteConfiguration(std::string(kLocalOutboundRouteConfig),
                                                    virtualHostsField(vhosts));
  }
  OutboundListener outbound;
  outbound.routes.push_back(scope.local_routes);
  // The listener depends on the port alone.
  auto before = previous_local_listeners_.find(key);
  outbound.listener = before != previous_local_listeners_.end()
                          ? before->second
                          : buildResource(ResourceType::kListener, std::string(kOutboundListener),
                                          withMeshTelemetry(localOutboundListener(outbound_port)));
  return local_outbound_.emplace(std::move(key), std::move(outbound)).first->second;
}

const Translator::OutboundListener& Translator::captureOutbound(const std::string& namespace_,
                                                                NamespaceScope& scope) {
  if (scope.capture) {
    return *scope.capture;
  }
  // With capture a connection is known by its destination port only (service addresses are
  // not in the model), so services sharing a port share its chain: HTTP ones are told apart
  // by Host, TCP ones not at all.
  struct PortUsers {
    std::vector<const std::string*> http;
    std::string first_http;
    std::vector<ServiceId> tcp;
  };
  std::map<uint32_t, PortUsers> by_port;
  for (ServiceId id : scope.visible) {
    const bool same_namespace = catalog_->service(id).namespace_() == namespace_;
    for (PortResources& port : services_[id].ports) {
      PortUsers& users = by_port[port.port->port];
      if (isHttp(port.port->protocol)) {
        if (users.http.empty()) {
          users.first_http = catalog_->service(id).fqdn;
        }
        users.http.push_back(&virtualHostBytes(id, port, same_namespace));
      } else {
        users.tcp.push_back(id);
      }
    }
  }
  const std::string where = "Namespace " + namespace_ + " (proxies with traffic capture)";
  OutboundListener outbound;
  std::vector<CaptureChain> chains;
  for (const auto& [port, users] : by_port) {
    const std::string port_text = std::to_string(port);
    if (!users.http.empty()) {
      if (!users.tcp.empty()) {
        problems_.add(where + ": port " + port_text + " is HTTP for " + users.first_http +
                      " and TCP for " + serviceList(*catalog_, users.tcp) +
                      "; only the HTTP services are reachable on it");
      }
      chains.push_back({port, {}, {}});
      outbound.routes.push_back(
          assembleRouteConfiguration(outboundRouteConfigName(port), virtualHostsField(users.http)));
    } else if (users.tcp.size() == 1) {
      chains.push_back(
          {port, outboundClusterName(catalog_->service(users.tcp.front()).fqdn, port), {}});
    } else {
      problems_.add(where + ": TCP port " + port_text + " belongs to " +
                    serviceList(*catalog_, users.tcp) +
                    "; connections to them cannot be told apart without service addresses, so "
                    "none is reachable on it");
    }
  }
  // "outbound/<port>" names compare as strings, not as numbers.
  std::sort(outbound.routes.begin(), outbound.routes.end(),
            [](const BuiltResourcePtr& a, const BuiltResourcePtr& b) { return a->name < b->name; });
  // Every capture sidecar has the outbound listener: a destination no service answers for
  // goes through its catch-all chain, passed through or closed (outboundTrafficPolicy).
  const weft::v1::Cluster fallback = fallbackCluster(settings_.registry_only);
  outbound.fallback_cluster = buildResource(ResourceType::kCluster, fallback.name(), fallback);
  const weft::v1::Listener listener =
      withMeshTelemetry(captureOutboundListener(chains, fallback.name()));
  const weft::v1::Listener twin = ipv6Twin(listener);
  outbound.listener_ipv6 = buildResource(ResourceType::kListener, twin.name(), twin);
  outbound.listener = buildResource(ResourceType::kListener, listener.name(), listener);
  scope.capture = std::move(outbound);
  return *scope.capture;
}

const std::string& Translator::virtualHostBytes(ServiceId id, PortResources& port,
                                                bool same_namespace) {
  const size_t variant = same_namespace ? 1 : 0;
  if (!port.vhost_built[variant]) {
    const uint32_t number = port.port->port;
    port.vhost[variant] = serializeVirtualHost(serviceVirtualHost(
        catalog_->service(id), number, same_namespace, routes_->routesFor(id, number).routes));
    port.vhost_built[variant] = true;
  }
  return port.vhost[variant];
}

const InboundResources& Translator::inboundFor(const Workload& workload) {
  std::string key = objectKey(workload.meta.namespace_, workload.meta.name);
  auto found = inbound_.find(key);
  if (found != inbound_.end()) {
    return found->second.resources;
  }
  std::vector<const Service*> services;
  for (ServiceId id : catalog_->servicesSelecting(workload)) {
    services.push_back(catalog_->service(id).service);
  }
  InboundSecurity security{mesh_mtls_, peer_authentications_->forWorkload(workload),
                           authorization_->namesFor(workload)};
  InboundEntry entry;
  auto before = previous_inbound_.find(key);
  if (before != previous_inbound_.end() && before->second.workload == &workload &&
      before->second.services == services && before->second.security == security) {
    entry = std::move(before->second);
    previous_inbound_.erase(before);
  } else {
    ProblemLog problems;
    entry.resources =
        inboundResources(workload, *catalog_, security,
                         ChainTelemetry{settings_.access_log, settings_.tracing}, problems);
    entry.workload = &workload;
    entry.services = std::move(services);
    entry.security = std::move(security);
    entry.problems = problems.messages();
  }
  for (const std::string& problem : entry.problems) {
    problems_.add(problem);
  }
  return inbound_.emplace(std::move(key), std::move(entry)).first->second.resources;
}

BuiltResourcePtr Translator::localizedEndpoints(const OutboundCluster& cluster,
                                                const weft::v1::Locality& locality) {
  std::string key = cluster.cluster->name;
  key.append("\n").append(locality.region()).append("\n").append(locality.zone());
  auto found = localized_.find(key);
  if (found != localized_.end()) {
    return found->second;
  }
  BuiltResourcePtr endpoints = buildResource(ResourceType::kEndpoints, cluster.cluster->name,
                                             prioritizedByLocality(*cluster.assignment, locality));
  localized_.emplace(std::move(key), endpoints);
  return endpoints;
}

}  // namespace weft::controlplane
