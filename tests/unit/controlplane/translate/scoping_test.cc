// Scoping: a proxy gets the services it may call and nothing else.

#include <gtest/gtest.h>

#include <set>

#include "controlplane/translate/translator.h"
#include "tests/unit/controlplane/translate/model_builder.h"
#include "tests/unit/controlplane/translate/resource_text.h"
#include "weft/v1/listener.pb.h"

namespace weft::controlplane::testing {
namespace {

std::set<std::string> names(const ProxyResources& resources, ResourceType type) {
  std::set<std::string> out;
  for (const BuiltResourcePtr& resource : resources.of(type)) {
    out.insert(resource->name);
  }
  return out;
}

ModelBuilder threeNamespaces() {
  ModelBuilder model;
  model.service("a", "front", {{"app", "front"}}, {port(8080)});
  model.service("b", "middle", {{"app", "middle"}}, {port(8080)});
  model.service("b", "helper", {{"app", "helper"}}, {port(8080)});
  model.service("c", "back", {{"app", "back"}}, {port(8080)});
  model.service("shared", "auth", {{"app", "auth"}}, {port(8080)});
  model.workload("a", "front-1", {{"app", "front"}}, "address: 10.0.0.1\n");
  model.workload("b", "middle-1", {{"app", "middle"}}, "address: 10.0.0.2\n");
  model.workload("b", "helper-1", {{"app", "helper"}}, "address: 10.0.0.3\n");
  model.workload("c", "back-1", {{"app", "back"}}, "address: 10.0.0.4\n");
  model.workload("shared", "auth-1", {{"app", "auth"}}, "address: 10.0.0.5\n");
  return model;
}

const std::string kFront = "outbound/front.a.svc.cluster.local:8080";
const std::string kMiddle = "outbound/middle.b.svc.cluster.local:8080";
const std::string kHelper = "outbound/helper.b.svc.cluster.local:8080";
const std::string kBack = "outbound/back.c.svc.cluster.local:8080";
const std::string kAuth = "outbound/auth.shared.svc.cluster.local:8080";

TEST(ScopingTest, ByDefaultAProxySeesOnlyItsOwnNamespace) {
  Translator translator(threeNamespaces().build());
  const ProxyResources resources = translator.forProxy(proxyNode("a", "front-1"));
  // ("passthrough", "inbound-passthrough": the capture sidecar's catch-all chains, whatever
  // the namespace.)
  EXPECT_EQ(names(resources, ResourceType::kCluster),
            (std::set<std::string>{"inbound-passthrough", "inbound/8080", kFront, "passthrough"}));
  EXPECT_EQ(names(resources, ResourceType::kEndpoints), std::set<std::string>{kFront});
}

TEST(ScopingTest, WhatTheNamespacesTrafficRoutesSendToIsVisible) {
  ModelBuilder model = threeNamespaces();
  model.trafficRoute("a", "front", R"(
hosts: [front]
rules:
- matches: [{path: {prefix: /mirror}}]
  mirror: {backend: {service: back.c.svc.cluster.local}}
- backends: [{service: middle.b}]
)");
  // middle's own rules send to helper: a client of middle needs helper's cluster too.
  model.trafficRoute("b", "middle", R"(
hosts: [middle]
rules:
- matches: [{headers: [{name: x-helper, present: true}]}]
  backends: [{service: helper}]
)");
  Translator translator(model.build());
  const ProxyResources resources = translator.forProxy(proxyNode("a", "front-1"));
  EXPECT_EQ(names(resources, ResourceType::kEndpoints),
            (std::set<std::string>{kFront, kMiddle, kHelper, kBack}));
  // A proxy in c is not a client of any of these rules.
  const ProxyResources back = translator.forProxy(proxyNode("c", "back-1"));
  EXPECT_EQ(names(back, ResourceType::kEndpoints), std::set<std::string>{kBack});
}

TEST(ScopingTest, AlsoNamespacesAreVisibleToEveryProxy) {
  ModelBuilder model = threeNamespaces();
  model.meshConfig("visibility: {alsoNamespaces: [shared]}\n");
  Translator translator(model.build());
  EXPECT_EQ(names(translator.forProxy(proxyNode("a", "front-1")), ResourceType::kEndpoints),
            (std::set<std::string>{kFront, kAuth}));
  EXPECT_EQ(names(translator.forProxy(proxyNode("c", "back-1")), ResourceType::kEndpoints),
            (std::set<std::string>{kBack, kAuth}));
}

TEST(ScopingTest, MeshVisibilityShowsEveryService) {
  ModelBuilder model = threeNamespaces();
  model.meshConfig("visibility: {mode: MESH}\n");
  Translator translator(model.build());
  EXPECT_EQ(names(translator.forProxy(proxyNode("c", "back-1")), ResourceType::kEndpoints),
            (std::set<std::string>{kFront, kMiddle, kHelper, kBack, kAuth}));
}

TEST(ScopingTest, AProxyGetsExactlyTheRouteConfigurationsItsListenersName) {
  ModelBuilder model = threeNamespaces();
  model.service("a", "metrics", {{"app", "metrics"}}, {port(9090)});
  model.service("b", "far", {{"app", "far"}}, {port(7070)});
  Translator translator(model.build());
  const ProxyResources resources = translator.forProxy(proxyNode("a", "front-1"));
  std::set<std::string> referenced;
  for (const BuiltResourcePtr& resource : resources.of(ResourceType::kListener)) {
    weft::v1::Listener listener;
    ASSERT_TRUE(listener.ParseFromString(resource->bytes));
    for (const auto& chain : listener.filter_chains()) {
      if (chain.has_http()) {
        referenced.insert(chain.http().route_config_name());
      }
    }
  }
  EXPECT_EQ(referenced, (std::set<std::string>{"inbound/8080", "outbound/8080", "outbound/9090"}));
  EXPECT_EQ(names(resources, ResourceType::kRoute), referenced);
}

TEST(ScopingTest, LocalModeLeavesOutTcpServices) {
  ModelBuilder model;
  model.service("dev", "app", {{"app", "app"}}, {port(8080)});
  model.service("dev", "db", {{"app", "db"}}, {port(5432, PortProtocol::kTcp)});
  model.workload("dev", "app-1", {{"app", "app"}},
                 "address: 127.0.0.1\nsidecar: {inboundPort: 15006, outboundPort: 15001}\n");
  model.workload("dev", "db-1", {{"app", "db"}}, "address: 127.0.0.1\n");
  Translator translator(model.build());
  const ProxyResources resources = translator.forProxy(proxyNode("dev", "app-1"));
  EXPECT_EQ(names(resources, ResourceType::kCluster),
            (std::set<std::string>{"inbound/8080", "outbound/app.dev.svc.cluster.local:8080"}));
  EXPECT_TRUE(translator.problems().empty()) << ::testing::PrintToString(translator.problems());
}

TEST(ScopingTest, APodOutsideTheModelHasNoInboundSide) {
  Translator translator(threeNamespaces().build());
  const ProxyResources resources = translator.forProxy(proxyNode("a", "not-a-workload"));
  EXPECT_EQ(names(resources, ResourceType::kListener), std::set<std::string>{"outbound"});
  EXPECT_EQ(names(resources, ResourceType::kCluster),
            (std::set<std::string>{kFront, "passthrough"}));
  EXPECT_TRUE(resources.of(ResourceType::kSecret).empty());
  EXPECT_TRUE(resources.of(ResourceType::kAuthorization).empty());
}

}  // namespace
}  // namespace weft::controlplane::testing
