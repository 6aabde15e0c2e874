// Sharing: what proxies have in common is built once and handed out as the same pointer,
// and versions move only for what changed.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "controlplane/translate/translator.h"
#include "tests/unit/controlplane/translate/golden_cases.h"
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

TEST(SharingTest, ANewTranslatorTakesOverWhatTheChangeDidNotTouch) {
  ModelBuilder model = shopModel();
  Translator before(model.build());
  const weft::v1::Node node = proxyNode("shop", "web-1");
  const ProxyResources old_resources = before.forProxy(node);
  model.editWorkload("shop", "cart-2", [](Workload& w) { w.spec.set_address("10.0.1.22"); });
  Translator after(model.build(), &before);
  const ProxyResources new_resources = after.forProxy(node);
  const std::string web = "outbound/web.shop.svc.cluster.local:8080";
  const std::string cart = "outbound/cart.shop.svc.cluster.local:8080";
  // The untouched service and the proxy's own inbound side are the very same resources.
  EXPECT_EQ(find(old_resources, ResourceType::kCluster, web),
            find(new_resources, ResourceType::kCluster, web));
  EXPECT_EQ(find(old_resources, ResourceType::kEndpoints, web),
            find(new_resources, ResourceType::kEndpoints, web));
  EXPECT_EQ(find(old_resources, ResourceType::kListener, "inbound"),
            find(new_resources, ResourceType::kListener, "inbound"));
  // The changed service's endpoints are built anew.
  EXPECT_NE(find(old_resources, ResourceType::kEndpoints, cart)->version,
            find(new_resources, ResourceType::kEndpoints, cart)->version);
  // Which is exactly what translating from scratch gives.
  Translator fresh(model.build());
  EXPECT_EQ(versions(new_resources), versions(fresh.forProxy(node)));
}

// Random edits of every kind (PeerAuthentication, AuthorizationPolicy and the trust bundle
// included): a Translator given the previous one gives every proxy what a Translator without
// it gives, and reports the same problems.
TEST(SharingTest, TakingOverGivesWhatTranslatingFromScratchGives) {
  ModelBuilder model = shopModel();
  model.workload("shop", "web-3", {{"app", "web"}},
                 "address: 192.168.1.10\nsidecar: {inboundPort: 15006, outboundPort: 15001}\n");
  const std::vector<weft::v1::Node> nodes = {proxyNode("shop", "web-1"), proxyNode("shop", "web-3"),
                                             proxyNode("shop", "cart-1"),
                                             proxyNode("other", "reports-1")};
  const std::vector<std::string> policies = {
      "host: cart\n",
      "host: cart\nsubsets: [{name: v1, labels: {version: v1}}]\n",
      // Reported as a problem: RING_HASH without a hash.
      "host: cart\ntrafficPolicy: {loadBalancer: {algorithm: RING_HASH}}\n",
  };
  const std::vector<std::string> peer_modes = {"mode: STRICT\n", "mode: DISABLE\n", "{}\n",
                                               "mode: PERMISSIVE\n"};
  const std::vector<std::string> authorization_rules = {
      "rules: [{}]\n",
      "action: DENY\nrules: [{to: [{paths: [/admin/*]}]}]\n",
      "rules: [{from: [{serviceAccounts: [shop/web]}]}]\n",
      // Reported: an invalid path is dropped.
      "rules: [{to: [{paths: [\"/a/*/b\", /ok]}]}]\n",
  };
  const auto rotated = std::make_shared<const std::string>(*testTrustBundle() + "\n");
  std::shared_ptr<const std::string> bundle = testTrustBundle();
  std::mt19937 random(20261127);
  auto previous = std::make_unique<Translator>(model.build(), nullptr, bundle);
  for (const weft::v1::Node& node : nodes) {
    previous->forProxy(node);
  }
  for (int step = 0; step < 160; ++step) {
    const std::string address = "10.0.1." + std::to_string(random() % 200 + 1);
    switch (random() % 9) {
      case 0: {
        // web-3 runs in local mode: its inbound listener binds its address.
        const char* names[] = {"cart-1", "web-2", "web-3"};
        model.editWorkload("shop", names[random() % 3],
                           [&](Workload& w) { w.spec.set_address(address); });
        break;
      }
      case 1:
        model.destinationPolicy("shop", "cart", policies[random() % policies.size()]);
        break;
      case 2:
        model.service("shop", "web", {{"app", "web"}}, {port(8080 + random() % 2)});
        break;
      case 3:
        model.meshConfig(random() % 2 ? "visibility: {mode: MESH}\n" : "{}\n");
        break;
      case 4:
        // Labels decide which services select the workload: its inbound side changes.
        model.workload("shop", "cart-1",
                       {{"app", random() % 2 ? "cart" : "web"}, {"version", "v1"}},
                       "address: " + address + "\n");
        break;
      case 5: {
        // The mesh-wide, namespace-wide or a selector policy: set, changed or removed.
        const int which = static_cast<int>(random() % 3);
        const std::string namespace_ = which == 0 ? kRootNamespace : "shop";
        const std::string name = which == 2 ? "web" : "default";
        if (random() % 4 == 0) {
          model.model().peer_authentications.erase(objectKey(namespace_, name));
          break;
        }
        std::string spec = peer_modes[random() % peer_modes.size()];
        if (which == 2) {
          spec = "selector: {matchLabels: {app: web}}\nportModes: {\"8080\": " +
                 std::string(random() % 2 ? "STRICT" : "DISABLE") + "}\n" +
                 (spec == "{}\n" ? "" : spec);
        }
        model.peerAuthentication(namespace_, name, spec);
        break;
      }
      case 6: {
        const int which = static_cast<int>(random() % 3);
        const std::string namespace_ = which == 0 ? kRootNamespace : "shop";
        const std::string name = which == 2 ? "web-callers" : "namespace";
        if (random() % 4 == 0) {
          model.model().authorization_policies.erase(objectKey(namespace_, name));
          break;
        }
        std::string spec = authorization_rules[random() % authorization_rules.size()];
        if (which == 2) {
          spec = "selector: {matchLabels: {app: " + std::string(random() % 2 ? "web" : "cart") +
                 "}}\n" + spec;
        }
        model.authorizationPolicy(namespace_, name, spec);
        break;
      }
      case 7: {
        const int choice = static_cast<int>(random() % 3);
        bundle = choice == 0 ? nullptr : choice == 1 ? testTrustBundle() : rotated;
        break;
      }
      default:
        model.trafficRoute(
            "shop", "cart",
            "hosts: [cart]\nrules:\n- timeout: " + std::to_string(random() % 9 + 1) + "s\n");
        break;
    }
    auto current = std::make_unique<Translator>(model.build(), previous.get(), bundle);
    Translator fresh(model.build(), nullptr, bundle);
    for (const weft::v1::Node& node : nodes) {
      ASSERT_EQ(versions(current->forProxy(node)), versions(fresh.forProxy(node)))
          << "step " << step << ", proxy " << node.id();
    }
    ASSERT_EQ(current->problems(), fresh.problems()) << "step " << step;
    previous = std::move(current);
  }
}

}  // namespace
}  // namespace weft::controlplane::testing
