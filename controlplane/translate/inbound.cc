#include "controlplane/translate/inbound.h"

#include <algorithm>
#include <map>

#include "controlplane/translate/clusters.h"
#include "controlplane/translate/listeners.h"
#include "controlplane/translate/names.h"
#include "controlplane/translate/virtual_hosts.h"
#include "weft/v1/listener.pb.h"

namespace weft::controlplane {
namespace {

std::string_view protocolName(PortProtocol protocol) {
  switch (protocol) {
    case PortProtocol::kHttp:
      return "HTTP";
    case PortProtocol::kHttp2:
      return "HTTP/2";
    case PortProtocol::kGrpc:
      return "gRPC";
    case PortProtocol::kTcp:
      return "TCP";
  }
  return "";
}

// The only route of an inbound virtual host. No timeout: the caller's proxy already enforces
// the route's deadline, and a second one here would cut what the caller's rule allows (a
// rule with timeout 0s for streaming).
weft::v1::Route inboundRoute(uint32_t port) {
  weft::v1::Route route;
  route.set_name("default");
  route.mutable_match()->set_prefix("/");
  route.mutable_route()->set_cluster(inboundClusterName(port));
  route.mutable_route()->mutable_timeout();
  return route;
}

// An application port and the protocol the first selecting service declares for it.
struct ApplicationPort {
  PortProtocol protocol = PortProtocol::kHttp;
  std::string service;  // the service that decided the protocol, for messages
  std::string fqdn;     // and its FQDN, for the metrics' destination_service
};

}  // namespace

InboundResources inboundResources(const Workload& workload, const ServiceCatalog& catalog,
                                  const InboundSecurity& security, const ChainTelemetry& telemetry,
                                  ProblemLog& problems) {
  const bool local = workload.spec.has_sidecar();
  const std::string workload_key = objectKey(workload.meta.namespace_, workload.meta.name);
  std::map<uint32_t, ApplicationPort> ports;
  weft::v1::RouteConfiguration local_routes;
  for (ServiceId id : catalog.servicesSelecting(workload)) {
    const CatalogService& service = catalog.service(id);
    const std::string service_key = objectKey(service.namespace_(), service.name());
    for (const ServicePort& port : service.service->ports) {
      const auto target = ServiceCatalog::targetPort(port, workload);
      if (!target || (local && !isHttp(port.protocol))) {
        continue;
      }
      auto [entry, inserted] =
          ports.emplace(*target, ApplicationPort{port.protocol, service_key, service.fqdn});
      if (!inserted && entry->second.protocol != port.protocol) {
        problems.add("Workload " + workload_key + ": port " + std::to_string(*target) + " is " +
                     std::string(protocolName(entry->second.protocol)) + " for Service " +
                     entry->second.service + " and " + std::string(protocolName(port.protocol)) +
                     " for Service " + service_key + "; the first by namespace/name applies");
      }
      if (local) {
        // Callers from other namespaces use the longer names, so every form is served.
        *local_routes.add_virtual_hosts() =
            serviceVirtualHost(service, port.port, true, {inboundRoute(*target)});
      }
    }
  }

  InboundResources resources;
  resources.policies = security.policies;
  auto chainSecurity = [&](weft::v1::DownstreamTls::Mode mode) {
    InboundChainSecurity chain;
    if (security.mesh_mtls) {
      chain.tls_mode = mode;
      resources.mesh_tls = resources.mesh_tls || mode != weft::v1::DownstreamTls::DISABLE;
    }
    chain.policies = security.policies;
    return chain;
  };
  const std::string address = local ? workload.spec.address() : "127.0.0.1";
  std::vector<CaptureChain> chains;
  for (const auto& [port, application] : ports) {
    resources.clusters.push_back(
        buildResource(ResourceType::kCluster, inboundClusterName(port),
                      inboundCluster(port, address, application.protocol, application.fqdn)));
    if (local) {
      continue;
    }
    const weft::v1::DownstreamTls::Mode mode = security.peer.modeFor(port);
    if (security.mesh_mtls && mode == weft::v1::DownstreamTls::STRICT &&
        !workload.spec.traffic_capture()) {
      problems.add("Workload " + workload_key + ": PeerAuthentication makes port " +
                   std::to_string(port) +
                   " STRICT, but neither a sidecar block nor trafficCapture says the workload "
                   "runs a proxy, so callers connect to it in plaintext and a proxy capturing "
                   "its traffic refuses them");
    }
    if (!isHttp(application.protocol)) {
      chains.push_back({port, inboundClusterName(port), chainSecurity(mode)});
      continue;
    }
    chains.push_back({port, {}, chainSecurity(mode)});
    weft::v1::RouteConfiguration routes;
    routes.set_name(inboundRouteConfigName(port));
    auto& vhost = *routes.add_virtual_hosts();
    vhost.set_name(inboundRouteConfigName(port));
    vhost.add_domains("*");
    *vhost.add_routes() = inboundRoute(port);
    resources.routes.push_back(buildResource(ResourceType::kRoute, routes.name(), routes));
  }
  if (local) {
    const uint32_t inbound_port = workload.spec.sidecar().inbound_port();
    // With a single application port, requests whose Host names no service of the workload
    // still have one place to go: a caller's rule that sent another service's request here
    // (a backend), or one that rewrote the authority.
    if (ports.size() == 1) {
      const uint32_t only = ports.begin()->first;
      auto& fallback = *local_routes.add_virtual_hosts();
      fallback.set_name(inboundClusterName(only));
      fallback.add_domains("*");
      *fallback.add_routes() = inboundRoute(only);
    }
    local_routes.set_name(inboundRouteConfigName(inbound_port));
    resources.routes.push_back(
        buildResource(ResourceType::kRoute, local_routes.name(), local_routes));
    const weft::v1::DownstreamTls::Mode mode = security.peer.strictestMode();
    if (security.mesh_mtls && security.peer.modesDifferByPort()) {
      problems.add(
          "Workload " + workload_key + ": PeerAuthentication " +
          objectKey(security.peer.selector->meta.namespace_, security.peer.selector->meta.name) +
          " gives its ports different modes, but in local mode one inbound port (" +
          std::to_string(inbound_port) + ") serves them all; the strictest, " + modeName(mode) +
          ", applies to every port");
    }
    weft::v1::Listener listener = localInboundListener(address, inbound_port, chainSecurity(mode));
    setTelemetry(listener, telemetry);
    resources.listener =
        buildResource(ResourceType::kListener, std::string(kInboundListener), listener);
  } else {
    // Port 0 is never a port_modes key: its mode is that of every port without an entry.
    resources.clusters.push_back(buildResource(ResourceType::kCluster,
                                               std::string(kInboundPassthroughCluster),
                                               inboundPassthroughCluster()));
    weft::v1::Listener listener =
        captureInboundListener(chains, chainSecurity(security.peer.modeFor(0)));
    setTelemetry(listener, telemetry);
    weft::v1::Listener twin = ipv6Twin(listener);
    resources.listener_ipv6 = buildResource(ResourceType::kListener, twin.name(), twin);
    resources.listener =
        buildResource(ResourceType::kListener, std::string(kInboundListener), listener);
  }
  // Cluster names "inbound/<port>" compare as strings, not numbers.
  auto by_name = [](const BuiltResourcePtr& a, const BuiltResourcePtr& b) {
    return a->name < b->name;
  };
  std::sort(resources.clusters.begin(), resources.clusters.end(), by_name);
  std::sort(resources.routes.begin(), resources.routes.end(), by_name);
  return resources;
}

}  // namespace weft::controlplane
