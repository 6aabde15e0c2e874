// Semantics of single translation steps, beyond what the golden files show.

#include <gtest/gtest.h>

#include <algorithm>

#include "controlplane/translate/endpoints.h"
#include "controlplane/translate/service_catalog.h"
#include "controlplane/translate/translator.h"
#include "controlplane/translate/virtual_hosts.h"
#include "tests/unit/controlplane/translate/model_builder.h"
#include "weft/v1/cluster.pb.h"
#include "weft/v1/endpoint.pb.h"
#include "weft/v1/listener.pb.h"
#include "weft/v1/route.pb.h"

namespace weft::controlplane::testing {
namespace {

template <class Message>
Message resource(const ProxyResources& resources, ResourceType type, const std::string& name) {
  Message message;
  for (const BuiltResourcePtr& candidate : resources.of(type)) {
    if (candidate->name == name) {
      EXPECT_TRUE(message.ParseFromString(candidate->bytes));
      return message;
    }
  }
  ADD_FAILURE() << "no " << shortName(type) << " " << name;
  return message;
}

std::vector<std::string> endpointAddresses(const weft::v1::ClusterLoadAssignment& assignment) {
  std::vector<std::string> out;
  for (const auto& group : assignment.endpoints()) {
    for (const auto& endpoint : group.lb_endpoints()) {
      out.push_back(endpoint.endpoint().address().address() + ":" +
                    std::to_string(endpoint.endpoint().address().port()));
    }
  }
  return out;
}

bool hasProblemContaining(const Translator& translator, const std::string& text) {
  const auto problems = translator.problems();
  return std::any_of(problems.begin(), problems.end(), [&](const std::string& problem) {
    return problem.find(text) != std::string::npos;
  });
}

TEST(TranslationTest, NamedTargetPortsResolvePerWorkload) {
  ModelBuilder model;
  model.service("ns", "api", {{"app", "api"}}, {port(80, PortProtocol::kHttp, 0, "web")});
  model.workload("ns", "api-1", {{"app", "api"}},
                 "address: 10.0.0.1\nports: [{name: web, port: 8080}]\n");
  model.workload("ns", "api-2", {{"app", "api"}},
                 "address: 10.0.0.2\nports: [{name: web, port: 9090}]\n");
  model.workload("ns", "api-3", {{"app", "api"}}, "address: 10.0.0.3\n");
  Translator translator(model.build());
  const auto assignment = resource<weft::v1::ClusterLoadAssignment>(
      translator.forProxy(proxyNode("ns", "client")), ResourceType::kEndpoints,
      "outbound/api.ns.svc.cluster.local:80");
  EXPECT_EQ(assignment.cluster_name(), "outbound/api.ns.svc.cluster.local:80");
  EXPECT_EQ(endpointAddresses(assignment),
            (std::vector<std::string>{"10.0.0.1:8080", "10.0.0.2:9090"}));
  EXPECT_TRUE(hasProblemContaining(translator, "Workload ns/api-3 has no port named \"web\""));
}

TEST(TranslationTest, SelectorsMatchLabelSubsetsWithinTheNamespace) {
  ModelBuilder model;
  model.service("ns", "api", {{"app", "api"}, {"tier", "backend"}}, {port(8080)});
  model.service("ns", "nothing", {}, {port(8080)});
  model.workload("ns", "match", {{"app", "api"}, {"tier", "backend"}, {"version", "v1"}},
                 "address: 10.0.0.1\n");
  model.workload("ns", "partial", {{"app", "api"}}, "address: 10.0.0.2\n");
  model.workload("elsewhere", "same-labels", {{"app", "api"}, {"tier", "backend"}},
                 "address: 10.0.0.3\n");
  Translator translator(model.build());
  const ProxyResources resources = translator.forProxy(proxyNode("ns", "client"));
  EXPECT_EQ(endpointAddresses(resource<weft::v1::ClusterLoadAssignment>(
                resources, ResourceType::kEndpoints, "outbound/api.ns.svc.cluster.local:8080")),
            std::vector<std::string>{"10.0.0.1:8080"});
  EXPECT_TRUE(endpointAddresses(resource<weft::v1::ClusterLoadAssignment>(
                                    resources, ResourceType::kEndpoints,
                                    "outbound/nothing.ns.svc.cluster.local:8080"))
                  .empty());
}

TEST(TranslationTest, SubsetAssignmentsHoldOnlyTheSubsetsWorkloads) {
  ModelBuilder model;
  model.service("ns", "api", {{"app", "api"}}, {port(8080)});
  model.workload("ns", "v1", {{"app", "api"}, {"version", "v1"}}, "address: 10.0.0.1\n");
  model.workload("ns", "v2", {{"app", "api"}, {"version", "v2"}}, "address: 10.0.0.2\n");
  model.destinationPolicy("ns", "api", R"(
host: api
subsets: [{name: v2, labels: {version: v2}}]
)");
  Translator translator(model.build());
  const ProxyResources resources = translator.forProxy(proxyNode("ns", "client"));
  EXPECT_EQ(endpointAddresses(resource<weft::v1::ClusterLoadAssignment>(
                resources, ResourceType::kEndpoints, "outbound/api.ns.svc.cluster.local:8080")),
            (std::vector<std::string>{"10.0.0.1:8080", "10.0.0.2:8080"}));
  EXPECT_EQ(endpointAddresses(resource<weft::v1::ClusterLoadAssignment>(
                resources, ResourceType::kEndpoints, "outbound/api.ns.svc.cluster.local:8080/v2")),
            std::vector<std::string>{"10.0.0.2:8080"});
}

TEST(TranslationTest, SidecarWorkloadsAreReachedThroughTheirInboundPortOnHttpPortsOnly) {
  ModelBuilder model;
  model.service("ns", "api", {{"app", "api"}},
                {port(8080, PortProtocol::kHttp, 18080), port(5432, PortProtocol::kTcp, 15432)});
  model.workload("ns", "api-1", {{"app", "api"}},
                 "address: 127.0.0.1\nsidecar: {inboundPort: 15100, outboundPort: 15101}\n");
  model.meshConfig("visibility: {mode: MESH}\n");
  Translator translator(model.build());
  const ProxyResources resources = translator.forProxy(proxyNode("other", "pod"));
  EXPECT_EQ(endpointAddresses(resource<weft::v1::ClusterLoadAssignment>(
                resources, ResourceType::kEndpoints, "outbound/api.ns.svc.cluster.local:8080")),
            std::vector<std::string>{"127.0.0.1:15100"});
  EXPECT_EQ(endpointAddresses(resource<weft::v1::ClusterLoadAssignment>(
                resources, ResourceType::kEndpoints, "outbound/api.ns.svc.cluster.local:5432")),
            std::vector<std::string>{"127.0.0.1:15432"});
}

TEST(TranslationTest, EndpointsCarryIdentityAndWorkloadMetadata) {
  ModelBuilder model;
  model.meshConfig("trustDomain: example.org\ndnsSuffix: svc.example.org\n");
  model.service("ns", "api", {{"app", "api"}}, {port(8080)});
  model.workload("ns", "api-1", {{"app", "api"}}, "address: 10.0.0.1\nserviceAccount: api\n");
  model.workload("ns", "api-2", {{"app", "api"}}, "address: 10.0.0.2\n");
  Translator translator(model.build());
  const auto assignment = resource<weft::v1::ClusterLoadAssignment>(
      translator.forProxy(proxyNode("ns", "client")), ResourceType::kEndpoints,
      "outbound/api.ns.svc.example.org:8080");
  ASSERT_EQ(assignment.endpoints_size(), 1);
  const auto& endpoints = assignment.endpoints(0).lb_endpoints();
  ASSERT_EQ(endpoints.size(), 2);
  EXPECT_EQ(endpoints[0].identity(), "spiffe://example.org/ns/ns/sa/api");
  EXPECT_EQ(endpoints[1].identity(), "spiffe://example.org/ns/ns/sa/default");
  EXPECT_EQ(endpoints[0].metadata().workload(), "api-1");
  EXPECT_EQ(endpoints[0].metadata().namespace_(), "ns");
}

TEST(TranslationTest, ClustersCarryTheMeshDefaultsAndNothingUnasked) {
  ModelBuilder model;
  model.service("ns", "api", {{"app", "api"}},
                {port(8080), port(9090, PortProtocol::kGrpc), port(6379, PortProtocol::kTcp)});
  Translator translator(model.build());
  const ProxyResources resources = translator.forProxy(proxyNode("ns", "client"));
  const auto http = resource<weft::v1::Cluster>(resources, ResourceType::kCluster,
                                                "outbound/api.ns.svc.cluster.local:8080");
  EXPECT_EQ(http.type(), weft::v1::Cluster::EDS);
  EXPECT_TRUE(http.eds_service_name().empty());
  EXPECT_EQ(http.connect_timeout().seconds(), 1);
  EXPECT_EQ(http.lb_policy(), weft::v1::Cluster::LEAST_REQUEST);
  EXPECT_EQ(http.protocol(), weft::v1::Cluster::HTTP1);
  EXPECT_EQ(http.destination_service(), "api.ns.svc.cluster.local");
  EXPECT_FALSE(http.has_circuit_breakers());
  EXPECT_FALSE(http.has_outlier_detection());
  EXPECT_FALSE(http.has_health_check());
  const auto grpc = resource<weft::v1::Cluster>(resources, ResourceType::kCluster,
                                                "outbound/api.ns.svc.cluster.local:9090");
  EXPECT_EQ(grpc.protocol(), weft::v1::Cluster::HTTP2);
}

TEST(TranslationTest, RetriesAppearOnlyWhenSomeoneAsksForThem) {
  ModelBuilder model;
  model.service("ns", "api", {{"app", "api"}}, {port(8080)});
  model.trafficRoute("ns", "api", R"(
hosts: [api]
rules:
- name: plain
  matches: [{path: {prefix: /plain}}]
- name: retried
  matches: [{path: {prefix: /retried}}]
  retries: {attempts: 2}
)");
  {
    Translator translator(model.build());
    const auto routes = resource<weft::v1::RouteConfiguration>(
        translator.forProxy(proxyNode("ns", "client")), ResourceType::kRoute, "outbound/8080");
    ASSERT_EQ(routes.virtual_hosts_size(), 1);
    const auto& vhost = routes.virtual_hosts(0);
    ASSERT_EQ(vhost.routes_size(), 3);
    EXPECT_FALSE(vhost.routes(0).route().has_retry_policy());
    EXPECT_EQ(vhost.routes(1).route().retry_policy().num_retries().value(), 2u);
    EXPECT_FALSE(vhost.routes(2).route().has_retry_policy());  // default
  }
  model.meshConfig("defaultRetries: {attempts: 1}\n");
  Translator translator(model.build());
  const auto routes = resource<weft::v1::RouteConfiguration>(
      translator.forProxy(proxyNode("ns", "client")), ResourceType::kRoute, "outbound/8080");
  const auto& vhost = routes.virtual_hosts(0);
  EXPECT_EQ(vhost.routes(0).route().retry_policy().num_retries().value(), 1u);
  EXPECT_EQ(vhost.routes(2).route().retry_policy().num_retries().value(), 1u);
}

TEST(TranslationTest, TheFirstTrafficRouteForAPortWins) {
  ModelBuilder model;
  model.service("ns", "api", {{"app", "api"}}, {port(8080), port(8081)});
  model.trafficRoute("ns", "b-second", R"(
hosts: [api]
rules: [{timeout: 2s}]
)");
  model.trafficRoute("ns", "a-first", R"(
hosts: [api]
port: 8080
rules: [{timeout: 1s}]
)");
  Translator translator(model.build());
  const auto routes = resource<weft::v1::RouteConfiguration>(
      translator.forProxy(proxyNode("ns", "client")), ResourceType::kRoute, "outbound/8080");
  EXPECT_EQ(routes.virtual_hosts(0).routes(0).name(), "ns/a-first/0");
  // b-second still routes the port nobody else claims.
  const auto other = resource<weft::v1::RouteConfiguration>(
      translator.forProxy(proxyNode("ns", "client")), ResourceType::kRoute, "outbound/8081");
  EXPECT_EQ(other.virtual_hosts(0).routes(0).name(), "ns/b-second/0");
  EXPECT_TRUE(hasProblemContaining(
      translator, "TrafficRoute ns/b-second: does not apply to api.ns.svc.cluster.local:8080"));
}

TEST(TranslationTest, HostsResolveInEveryFormKubernetesDnsAccepts) {
  ModelBuilder model;
  model.service("ns", "api", {}, {port(8080)});
  model.service("svc", "cache", {}, {port(6379, PortProtocol::kTcp)});
  const MeshModelPtr built = model.build();
  ProblemLog problems;
  const MeshSettings settings = meshSettings(*built);
  ServiceCatalog catalog(*built, settings, problems);
  for (const char* host : {"api.ns", "api.ns.svc", "api.ns.svc.cluster.local"}) {
    EXPECT_EQ(catalog.resolveHost(host, "elsewhere"), ServiceId{0}) << host;
  }
  EXPECT_EQ(catalog.resolveHost("api", "ns"), ServiceId{0});
  EXPECT_EQ(catalog.resolveHost("api", "elsewhere"), std::nullopt);
  EXPECT_EQ(catalog.resolveHost("api.ns.cluster.local", "ns"), std::nullopt);
  EXPECT_EQ(catalog.resolveHost("api.other", "ns"), std::nullopt);
  EXPECT_EQ(catalog.resolveHost("api.svc.cluster.local", "ns"), std::nullopt);
  // A namespace may be called "svc": two labels are always "<name>.<namespace>".
  EXPECT_EQ(catalog.resolveHost("cache.svc", "ns"), ServiceId{1});
  EXPECT_EQ(catalog.resolveHost("cache.svc.svc", "ns"), ServiceId{1});
}

TEST(TranslationTest, PrioritiesFollowTheProxysLocalityAndStayContiguous) {
  weft::v1::ClusterLoadAssignment assignment;
  auto add = [&](const std::string& region, const std::string& zone) {
    auto& group = *assignment.add_endpoints();
    group.mutable_locality()->set_region(region);
    group.mutable_locality()->set_zone(zone);
  };
  add("eu", "eu-b");
  add("eu", "eu-c");
  add("us", "us-a");
  weft::v1::Locality proxy;
  proxy.set_region("eu");
  proxy.set_zone("eu-b");
  auto prioritized = prioritizedByLocality(assignment, proxy);
  EXPECT_EQ(prioritized.endpoints(0).priority(), 0u);
  EXPECT_EQ(prioritized.endpoints(1).priority(), 1u);
  EXPECT_EQ(prioritized.endpoints(2).priority(), 2u);
  // No endpoint in the proxy's zone: the same region becomes the first priority.
  proxy.set_zone("eu-z");
  prioritized = prioritizedByLocality(assignment, proxy);
  EXPECT_EQ(prioritized.endpoints(0).priority(), 0u);
  EXPECT_EQ(prioritized.endpoints(1).priority(), 0u);
  EXPECT_EQ(prioritized.endpoints(2).priority(), 1u);
  // A proxy that does not know where it runs treats every locality alike.
  prioritized = prioritizedByLocality(assignment, weft::v1::Locality());
  for (const auto& group : prioritized.endpoints()) {
    EXPECT_EQ(group.priority(), 0u);
  }
}

TEST(TranslationTest, AssembledRouteConfigurationsEqualSerializedMessages) {
  ModelBuilder model;
  model.service("ns", "api", {{"app", "api"}}, {port(80)});
  model.service("ns", "web", {{"app", "web"}}, {port(80)});
  const MeshModelPtr built = model.build();
  ProblemLog problems;
  const MeshSettings settings = meshSettings(*built);
  ServiceCatalog catalog(*built, settings, problems);
  weft::v1::RouteConfiguration expected;
  expected.set_name("outbound/80");
  std::vector<std::string> bytes;
  for (ServiceId id = 0; id < catalog.services().size(); ++id) {
    const auto vhost = serviceVirtualHost(catalog.service(id), 80, true,
                                          {defaultRoute("outbound/x", {}, settings)});
    *expected.add_virtual_hosts() = vhost;
    bytes.push_back(serializeVirtualHost(vhost));
  }
  std::vector<const std::string*> pointers;
  for (const std::string& entry : bytes) {
    pointers.push_back(&entry);
  }
  const BuiltResourcePtr assembled =
      assembleRouteConfiguration("outbound/80", virtualHostsField(pointers));
  const BuiltResourcePtr built_resource =
      buildResource(ResourceType::kRoute, "outbound/80", expected);
  EXPECT_EQ(assembled->bytes, built_resource->bytes);
  EXPECT_EQ(assembled->version, built_resource->version);
  EXPECT_EQ(assembled->type, ResourceType::kRoute);
}

TEST(TranslationTest, DomainsOfPort80IncludeTheFormsWithoutAPort) {
  ModelBuilder model;
  model.service("ns", "api", {}, {port(80), port(8080)});
  const MeshModelPtr built = model.build();
  ProblemLog problems;
  ServiceCatalog catalog(*built, meshSettings(*built), problems);
  EXPECT_EQ(serviceDomains(catalog.service(0), 8080, false),
            (std::vector<std::string>{"api.ns:8080", "api.ns.svc:8080",
                                      "api.ns.svc.cluster.local:8080"}));
  EXPECT_EQ(serviceDomains(catalog.service(0), 80, true),
            (std::vector<std::string>{"api:80", "api.ns:80", "api.ns.svc:80",
                                      "api.ns.svc.cluster.local:80", "api", "api.ns", "api.ns.svc",
                                      "api.ns.svc.cluster.local"}));
}

TEST(TranslationTest, UnknownDestinationsFollowTheOutboundTrafficPolicy) {
  // A capture sidecar (proxyNode: no local-mode sidecar spec) of a namespace without services
  // still gets the outbound listener: its catch-all chain passes connections through.
  ModelBuilder model;
  model.service("ns", "api", {{"app", "api"}}, {port(80)});
  model.workload("ns", "api-1", {{"app", "api"}}, "address: 10.0.0.1\n");
  for (const std::string namespace_ : {"ns", "empty"}) {
    const ProxyResources resources = Translator(model.build()).forProxy(proxyNode(namespace_, "c"));
    const auto listener =
        resource<weft::v1::Listener>(resources, ResourceType::kListener, "outbound");
    ASSERT_GE(listener.filter_chains_size(), 1) << namespace_;
    const auto& last = listener.filter_chains(listener.filter_chains_size() - 1);
    EXPECT_EQ(last.name(), "passthrough");
    EXPECT_FALSE(last.has_match());  // every destination port no chain above names
    EXPECT_EQ(last.tcp().cluster(), "passthrough");
    const auto cluster =
        resource<weft::v1::Cluster>(resources, ResourceType::kCluster, "passthrough");
    EXPECT_EQ(cluster.type(), weft::v1::Cluster::ORIGINAL_DST);
    const auto& clusters = resources.of(ResourceType::kCluster);
    EXPECT_TRUE(std::is_sorted(
        clusters.begin(), clusters.end(),
        [](const BuiltResourcePtr& a, const BuiltResourcePtr& b) { return a->name < b->name; }));
  }
  model.meshConfig("outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n");
  const ProxyResources closed = Translator(model.build()).forProxy(proxyNode("ns", "c"));
  const auto listener = resource<weft::v1::Listener>(closed, ResourceType::kListener, "outbound");
  EXPECT_EQ(listener.filter_chains(listener.filter_chains_size() - 1).tcp().cluster(), "blackhole");
  const auto blackhole = resource<weft::v1::Cluster>(closed, ResourceType::kCluster, "blackhole");
  EXPECT_EQ(blackhole.type(), weft::v1::Cluster::STATIC);
  EXPECT_EQ(blackhole.load_assignment().endpoints_size(), 0);
  EXPECT_EQ(closed.of(ResourceType::kCluster).front()->name, "blackhole");
}

TEST(TranslationTest, APodWithIpv6GetsItsCaptureListenersOnBothFamilies) {
  ModelBuilder model;
  model.service("ns", "api", {{"app", "api"}}, {port(80)});
  model.workload("ns", "api-1", {{"app", "api"}}, "address: 10.0.0.1\ntrafficCapture: true\n");
  Translator translator(model.build());
  auto listenerNames = [&](std::vector<std::string> addresses) {
    weft::v1::Node node = proxyNode("ns", "api-1");
    for (const std::string& address : addresses) {
      node.add_ip_addresses(address);
    }
    const ProxyResources resources = translator.forProxy(node);
    std::vector<std::string> names;
    for (const BuiltResourcePtr& listener : resources.of(ResourceType::kListener)) {
      names.push_back(listener->name);
    }
    return names;
  };
  const std::vector<std::string> ipv4_only{"inbound", "outbound"};
  EXPECT_EQ(listenerNames({}), ipv4_only);
  EXPECT_EQ(listenerNames({"10.0.0.1"}), ipv4_only);
  // Link-local and loopback addresses every interface has do not count.
  EXPECT_EQ(listenerNames({"10.0.0.1", "fe80::1", "::1"}), ipv4_only);
  EXPECT_EQ(listenerNames({"10.0.0.1", "fd00::1"}),
            (std::vector<std::string>{"inbound", "inbound-ipv6", "outbound", "outbound-ipv6"}));

  weft::v1::Node node = proxyNode("ns", "api-1");
  node.add_ip_addresses("2001:db8::7");
  const ProxyResources resources = translator.forProxy(node);
  for (const std::string name : {"inbound", "outbound"}) {
    const auto v4 = resource<weft::v1::Listener>(resources, ResourceType::kListener, name);
    auto v6 = resource<weft::v1::Listener>(resources, ResourceType::kListener, name + "-ipv6");
    EXPECT_EQ(v4.address().address(), "0.0.0.0");
    EXPECT_EQ(v6.address().address(), "::");
    EXPECT_EQ(v6.address().port(), v4.address().port());
    // Otherwise the same listener: chains, transparency, direction.
    v6.set_name(v4.name());
    *v6.mutable_address() = v4.address();
    EXPECT_EQ(v6.SerializeAsString(), v4.SerializeAsString()) << name;
  }
}

TEST(TranslationTest, UnreadyWorkloadsAreNoEndpointsButKeepTheirInbound) {
  // A pod that is starting, failing its readiness probe or terminating (its EndpointSlice
  // says not ready) gets no traffic, yet its own sidecar still serves the probe and whatever
  // is in flight: its inbound configuration stays.
  ModelBuilder model;
  model.service("ns", "api", {{"app", "api"}}, {port(8080)});
  model.workload("ns", "ready", {{"app", "api"}}, "address: 10.0.0.1\ntrafficCapture: true\n");
  model.workload("ns", "starting", {{"app", "api"}}, "address: 10.0.0.2\ntrafficCapture: true\n");
  model.editWorkload("ns", "starting", [](Workload& workload) { workload.ready = false; });
  Translator translator(model.build());
  EXPECT_EQ(endpointAddresses(resource<weft::v1::ClusterLoadAssignment>(
                translator.forProxy(proxyNode("ns", "client")), ResourceType::kEndpoints,
                "outbound/api.ns.svc.cluster.local:8080")),
            std::vector<std::string>{"10.0.0.1:8080"});
  const ProxyResources own = translator.forProxy(proxyNode("ns", "starting"));
  const auto inbound = resource<weft::v1::Listener>(own, ResourceType::kListener, "inbound");
  bool serves_api = false;
  for (const auto& chain : inbound.filter_chains()) {
    serves_api = serves_api || chain.http().route_config_name() == "inbound/8080";
  }
  EXPECT_TRUE(serves_api) << inbound.DebugString();
}

TEST(TranslationTest, UntranslatedPoliciesAreReported) {
  ModelBuilder model;
  model.destinationPolicy("ns", "tls", "host: api\ntrafficPolicy: {tls: {mode: SIMPLE}}\n");
  model.destinationPolicy("ns", "mesh", "host: web\ntrafficPolicy: {tls: {mode: MESH}}\n");
  model.service("ns", "api", {}, {port(8080)});
  model.service("ns", "web", {}, {port(8080)});
  Translator translator(model.build());
  EXPECT_TRUE(
      hasProblemContaining(translator, "DestinationPolicy ns/tls: tls mode SIMPLE is not applied"));
  // MESH needs workload certificates, which need a certificate authority.
  EXPECT_TRUE(hasProblemContaining(translator, "DestinationPolicy ns/mesh: tls mode MESH needs"));
}

}  // namespace
}  // namespace weft::controlplane::testing
