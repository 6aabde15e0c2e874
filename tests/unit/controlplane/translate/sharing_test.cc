// Sharing: what proxies have in common is built once and handed out as the same pointer,
// and versions move only for what changed.

#include <gtest/gtest.h>

#include <map>

#include "controlplane/translate/translator.h"
#include "tests/unit/controlplane/translate/model_builder.h"

namespace weft::controlplane::testing {
namespace {

BuiltResourcePtr find(const ProxyResources& resources, ResourceType type, const std::string& name) {
  for (const BuiltResourcePtr& resource : resources.of(type)) {
    if (resource->name == name) {
      return resource;
    }
  }
  ADD_FAILURE() << "no " << shortName(type) << " " << name;
  return nullptr;
}

// "<type> <name>" -> version, over every type.
std::map<std::string, std::string> versions(const ProxyResources& resources) {
  std::map<std::string, std::string> out;
  for (ResourceType type : kPushOrder) {
    for (const BuiltResourcePtr& resource : resources.of(type)) {
      out[std::string(shortName(type)) + " " + resource->name] = resource->version;
    }
  }
  return out;
}

ModelBuilder shopModel() {
  ModelBuilder model;
  model.service("shop", "web", {{"app", "web"}}, {port(8080)});
  model.service("shop", "cart", {{"app", "cart"}}, {port(8080), port(6379, PortProtocol::kTcp)});
  model.service("other", "reports", {{"app", "reports"}}, {port(8080)});
  model.workload("shop", "web-1", {{"app", "web"}}, "address: 10.0.0.1\n");
  model.workload("shop", "web-2", {{"app", "web"}}, "address: 10.0.0.2\n");
  model.workload("shop", "cart-1", {{"app", "cart"}}, "address: 10.0.1.1\n");
  model.workload("shop", "cart-2", {{"app", "cart"}}, "address: 10.0.1.2\n");
  model.workload("other", "reports-1", {{"app", "reports"}}, "address: 10.0.2.1\n");
  model.trafficRoute("shop", "cart", R"(
hosts: [cart]
rules:
- matches: [{path: {prefix: /v2}}]
  timeout: 5s
)");
  return model;
}

TEST(SharingTest, ProxiesOfANamespaceShareClustersEndpointsRoutesAndListener) {
  Translator translator(shopModel().build());
  const ProxyResources first = translator.forProxy(proxyNode("shop", "web-1"));
  const ProxyResources second = translator.forProxy(proxyNode("shop", "web-2"));
  const std::string cart = "outbound/cart.shop.svc.cluster.local:8080";
  EXPECT_EQ(find(first, ResourceType::kCluster, cart), find(second, ResourceType::kCluster, cart));
  EXPECT_EQ(find(first, ResourceType::kEndpoints, cart),
            find(second, ResourceType::kEndpoints, cart));
  EXPECT_EQ(find(first, ResourceType::kRoute, "outbound/8080"),
            find(second, ResourceType::kRoute, "outbound/8080"));
  EXPECT_EQ(find(first, ResourceType::kListener, "outbound"),
            find(second, ResourceType::kListener, "outbound"));
  // The inbound side belongs to each workload; equal content still gives equal versions.
  EXPECT_EQ(find(first, ResourceType::kListener, "inbound")->version,
            find(second, ResourceType::kListener, "inbound")->version);
}

TEST(SharingTest, AServicesClusterIsTheSameForProxiesOfAllNamespaces) {
  ModelBuilder model = shopModel();
  model.meshConfig("visibility: {mode: MESH}\n");
  Translator translator(model.build());
  const ProxyResources shop = translator.forProxy(proxyNode("shop", "web-1"));
  const ProxyResources other = translator.forProxy(proxyNode("other", "reports-1"));
  const std::string cart = "outbound/cart.shop.svc.cluster.local:8080";
  EXPECT_EQ(find(shop, ResourceType::kCluster, cart), find(other, ResourceType::kCluster, cart));
  EXPECT_EQ(find(shop, ResourceType::kEndpoints, cart),
            find(other, ResourceType::kEndpoints, cart));
  // Route configurations differ: only clients in "shop" may call cart by its short name.
  EXPECT_NE(find(shop, ResourceType::kRoute, "outbound/8080")->version,
            find(other, ResourceType::kRoute, "outbound/8080")->version);
}

TEST(SharingTest, LocalModeProxiesWithTheSameOutboundPortShareTheirOutboundSide) {
  ModelBuilder model;
  model.service("dev", "api", {{"app", "api"}}, {port(8080)});
  model.workload("dev", "api-a", {{"app", "api"}},
                 "address: 192.168.1.10\nsidecar: {inboundPort: 15006, outboundPort: 15001}\n");
  model.workload("dev", "api-b", {{"app", "api"}},
                 "address: 192.168.1.11\nsidecar: {inboundPort: 15006, outboundPort: 15001}\n");
  Translator translator(model.build());
  const ProxyResources a = translator.forProxy(proxyNode("dev", "api-a"));
  const ProxyResources b = translator.forProxy(proxyNode("dev", "api-b"));
  EXPECT_EQ(find(a, ResourceType::kRoute, "outbound/local"),
            find(b, ResourceType::kRoute, "outbound/local"));
  EXPECT_EQ(find(a, ResourceType::kListener, "outbound"),
            find(b, ResourceType::kListener, "outbound"));
  // Sidecars with different outbound ports still share their routes.
  model.workload("dev", "api-c", {{"app", "api"}},
                 "address: 192.168.1.12\nsidecar: {inboundPort: 15007, outboundPort: 15002}\n");
  Translator with_c(model.build());
  const ProxyResources a2 = with_c.forProxy(proxyNode("dev", "api-a"));
  const ProxyResources c = with_c.forProxy(proxyNode("dev", "api-c"));
  ASSERT_NE(find(c, ResourceType::kRoute, "outbound/local"), nullptr);
  EXPECT_EQ(find(a2, ResourceType::kRoute, "outbound/local"),
            find(c, ResourceType::kRoute, "outbound/local"));
  EXPECT_NE(find(a2, ResourceType::kListener, "outbound"),
            find(c, ResourceType::kListener, "outbound"));
  // Each inbound listener binds its own workload's address.
  EXPECT_NE(find(a, ResourceType::kListener, "inbound")->version,
            find(b, ResourceType::kListener, "inbound")->version);
}

TEST(SharingTest, ARepeatedRequestReturnsTheSameResources) {
  Translator translator(shopModel().build());
  const ProxyResources first = translator.forProxy(proxyNode("shop", "web-1"));
  const ProxyResources again = translator.forProxy(proxyNode("shop", "web-1"));
  for (ResourceType type : kPushOrder) {
    EXPECT_EQ(first.of(type), again.of(type)) << shortName(type);
  }
}

TEST(SharingTest, AChangeInAnUnrelatedNamespaceKeepsEveryVersion) {
  ModelBuilder before = shopModel();
  ModelBuilder after = shopModel();
  after.editWorkload("other", "reports-1", [](Workload& w) { w.spec.set_address("10.0.9.9"); });
  after.service("other", "archive", {{"app", "archive"}}, {port(8080)});
  after.trafficRoute("other", "reports", R"(
hosts: [reports]
rules:
- timeout: 1s
)");
  Translator old_translator(before.build());
  Translator new_translator(after.build());
  const weft::v1::Node node = proxyNode("shop", "web-1");
  EXPECT_EQ(versions(old_translator.forProxy(node)), versions(new_translator.forProxy(node)));
}

TEST(SharingTest, AChangedEndpointChangesExactlyThatAssignment) {
  ModelBuilder before = shopModel();
  ModelBuilder after = shopModel();
  after.editWorkload("shop", "web-2", [](Workload& w) { w.spec.set_address("10.0.0.22"); });
  const weft::v1::Node node = proxyNode("shop", "cart-1");
  const auto old_versions = versions(Translator(before.build()).forProxy(node));
  const auto new_versions = versions(Translator(after.build()).forProxy(node));
  ASSERT_EQ(old_versions.size(), new_versions.size());
  std::vector<std::string> changed;
  for (const auto& [name, version] : new_versions) {
    if (old_versions.at(name) != version) {
      changed.push_back(name);
    }
  }
  EXPECT_EQ(changed,
            std::vector<std::string>{"endpoints outbound/web.shop.svc.cluster.local:8080"});
}

}  // namespace
}  // namespace weft::controlplane::testing
