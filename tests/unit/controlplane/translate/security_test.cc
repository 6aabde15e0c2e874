// Security translation: PeerAuthentication modes, auto mTLS, AuthorizationPolicies and the
// trust bundle, beyond what the golden files show.

#include <gtest/gtest.h>

#include <algorithm>

#include "controlplane/translate/authorization.h"
#include "controlplane/translate/peer_authentication.h"
#include "controlplane/translate/translator.h"
#include "tests/unit/controlplane/translate/golden_cases.h"
#include "tests/unit/controlplane/translate/model_builder.h"
#include "weft/v1/cluster.pb.h"
#include "weft/v1/endpoint.pb.h"
#include "weft/v1/listener.pb.h"
#include "weft/v1/secret.pb.h"

namespace weft::controlplane::testing {
namespace {

using weft::v1::DownstreamTls;

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

std::vector<std::string> names(const ProxyResources& resources, ResourceType type) {
  std::vector<std::string> out;
  for (const BuiltResourcePtr& resource : resources.of(type)) {
    out.push_back(resource->name);
  }
  return out;
}

bool hasProblemContaining(const std::vector<std::string>& problems, const std::string& text) {
  return std::any_of(problems.begin(), problems.end(), [&](const std::string& problem) {
    return problem.find(text) != std::string::npos;
  });
}

const Workload& workloadOf(const MeshModel& model, const std::string& key) {
  return *model.workloads.at(key);
}

// --- PeerAuthentication -------------------------------------------------------------------

TEST(PeerAuthenticationTest, TheMostSpecificScopeWinsAndUnsetInherits) {
  ModelBuilder model;
  model.workload("a", "plain", {{"app", "plain"}}, "address: 10.0.0.1\n");
  model.workload("a", "picked", {{"app", "picked"}}, "address: 10.0.0.2\n");
  model.workload("a", "inherits", {{"app", "inherits"}}, "address: 10.0.0.3\n");
  model.workload("b", "meshwide", {{"app", "x"}}, "address: 10.0.0.4\n");
  model.workload("c", "nothing", {{"app", "x"}}, "address: 10.0.0.5\n");
  model.peerAuthentication(kRootNamespace, "default", "mode: STRICT\n");
  model.peerAuthentication("a", "default", "mode: DISABLE\n");
  model.peerAuthentication("a", "picked", "selector: {matchLabels: {app: picked}}\nmode: STRICT\n");
  model.peerAuthentication("a", "inherits", "selector: {matchLabels: {app: inherits}}\n");
  model.peerAuthentication("b", "default", "{}\n");
  const MeshModelPtr built = model.build();
  ProblemLog problems;
  PeerAuthentications resolver(*built, problems);
  EXPECT_EQ(resolver.forWorkload(workloadOf(*built, "a/plain")).modeFor(80),
            DownstreamTls::DISABLE);
  EXPECT_EQ(resolver.forWorkload(workloadOf(*built, "a/picked")).modeFor(80),
            DownstreamTls::STRICT);
  // UNSET in the selector policy: the namespace's DISABLE.
  EXPECT_EQ(resolver.forWorkload(workloadOf(*built, "a/inherits")).modeFor(80),
            DownstreamTls::DISABLE);
  // UNSET namespace-wide: the mesh-wide STRICT.
  EXPECT_EQ(resolver.forWorkload(workloadOf(*built, "b/meshwide")).modeFor(80),
            DownstreamTls::STRICT);
  EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems.messages());

  ModelBuilder empty;
  empty.workload("c", "nothing", {{"app", "x"}}, "address: 10.0.0.5\n");
  const MeshModelPtr bare = empty.build();
  PeerAuthentications defaults(*bare, problems);
  EXPECT_EQ(defaults.forWorkload(workloadOf(*bare, "c/nothing")).modeFor(80),
            DownstreamTls::PERMISSIVE);
}

TEST(PeerAuthenticationTest, PortModesOverrideTheModeOfTheSelectorPolicy) {
  ModelBuilder model;
  model.workload("a", "w", {{"app", "w"}}, "address: 10.0.0.1\n");
  model.peerAuthentication("a", "default", "mode: STRICT\n");
  model.peerAuthentication("a", "w", R"(
selector: {matchLabels: {app: w}}
mode: PERMISSIVE
portModes: {"8080": DISABLE, "8081": UNSET, "8082": STRICT}
)");
  const MeshModelPtr built = model.build();
  ProblemLog problems;
  const PeerAuthenticationScopes scopes =
      PeerAuthentications(*built, problems).forWorkload(workloadOf(*built, "a/w"));
  EXPECT_EQ(scopes.modeFor(8080), DownstreamTls::DISABLE);
  // UNSET for a port inherits the policy's own mode.
  EXPECT_EQ(scopes.modeFor(8081), DownstreamTls::PERMISSIVE);
  EXPECT_EQ(scopes.modeFor(9999), DownstreamTls::PERMISSIVE);
  EXPECT_EQ(scopes.strictestMode(), DownstreamTls::STRICT);
  EXPECT_TRUE(scopes.modesDifferByPort());
}

TEST(PeerAuthenticationTest, ConflictsAreSettledByNameAndReported) {
  ModelBuilder model;
  model.workload("a", "w", {{"app", "w"}}, "address: 10.0.0.1\n");
  model.peerAuthentication("a", "ns-1", "mode: STRICT\n");
  model.peerAuthentication("a", "ns-2", "mode: DISABLE\n");
  model.peerAuthentication("a", "sel-b", "selector: {matchLabels: {app: w}}\nmode: DISABLE\n");
  model.peerAuthentication("a", "sel-a", "selector: {matchLabels: {app: w}}\nmode: PERMISSIVE\n");
  const MeshModelPtr built = model.build();
  ProblemLog problems;
  PeerAuthentications resolver(*built, problems);
  const PeerAuthenticationScopes scopes = resolver.forWorkload(workloadOf(*built, "a/w"));
  ASSERT_NE(scopes.selector, nullptr);
  EXPECT_EQ(scopes.selector->meta.name, "sel-a");
  ASSERT_NE(scopes.namespace_wide, nullptr);
  EXPECT_EQ(scopes.namespace_wide->meta.name, "ns-1");
  EXPECT_EQ(scopes.modeFor(80), DownstreamTls::PERMISSIVE);
  const auto messages = problems.messages();
  EXPECT_TRUE(hasProblemContaining(messages,
                                   "PeerAuthentication a/ns-2: namespace a already has "
                                   "the namespace-wide PeerAuthentication a/ns-1"));
  EXPECT_TRUE(
      hasProblemContaining(messages,
                           "PeerAuthentication a/sel-b: selects 1 workload(s) (first: a/w) that "
                           "PeerAuthentication a/sel-a also selects"));
}

TEST(PeerAuthenticationTest, PortModesWithoutSelectorAreReportedAndIgnored) {
  ModelBuilder model;
  model.workload("a", "w", {{"app", "w"}}, "address: 10.0.0.1\n");
  // Read from a manifest this is refused; a model from elsewhere may still carry it.
  PeerAuthentication policy;
  policy.meta.name = "default";
  policy.meta.namespace_ = "a";
  policy.spec.set_mode(weft::mesh::v1alpha1::PeerAuthenticationSpec::STRICT);
  (*policy.spec.mutable_port_modes())[8080] = weft::mesh::v1alpha1::PeerAuthenticationSpec::DISABLE;
  model.model().peer_authentications["a/default"] =
      std::make_shared<const PeerAuthentication>(policy);
  const MeshModelPtr built = model.build();
  ProblemLog problems;
  const PeerAuthenticationScopes scopes =
      PeerAuthentications(*built, problems).forWorkload(workloadOf(*built, "a/w"));
  EXPECT_EQ(scopes.modeFor(8080), DownstreamTls::STRICT);
  EXPECT_TRUE(hasProblemContaining(problems.messages(),
                                   "PeerAuthentication a/default: portModes needs a selector"));
}

// --- Inbound chains and auto mTLS -----------------------------------------------------------

ModelBuilder meshModel() {
  ModelBuilder model;
  model.service("shop", "api", {{"app", "api"}}, {port(8080), port(5000, PortProtocol::kTcp)});
  model.service("shop", "web", {{"app", "web"}}, {port(8080)});
  model.service("shop", "db", {{"app", "db"}}, {port(8080)});
  model.service("shop", "old", {{"app", "old"}}, {port(8080)});
  model.workload("shop", "api-1", {{"app", "api"}}, "address: 10.0.0.1\nserviceAccount: api\n");
  model.workload("shop", "web-1", {{"app", "web"}},
                 "address: 10.0.1.1\nserviceAccount: web\n"
                 "sidecar: {inboundPort: 15006, outboundPort: 15001}\n");
  model.workload("shop", "db-1", {{"app", "db"}},
                 "address: 10.0.2.1\nsidecar: {inboundPort: 15006, outboundPort: 15001}\n");
  model.workload("shop", "old-1", {{"app", "old"}}, "address: 10.0.3.1\n");
  model.peerAuthentication("shop", "api", R"(
selector: {matchLabels: {app: api}}
mode: PERMISSIVE
portModes: {"5000": DISABLE}
)");
  model.peerAuthentication("shop", "db", "selector: {matchLabels: {app: db}}\nmode: DISABLE\n");
  return model;
}

TEST(SecurityTest, InboundChainsTerminateTlsInTheResolvedModeOfTheirPort) {
  Translator translator(meshModel().build(), nullptr, testTrustBundle());
  const auto listener = resource<weft::v1::Listener>(
      translator.forProxy(proxyNode("shop", "api-1")), ResourceType::kListener, "inbound");
  ASSERT_EQ(listener.filter_chains_size(), 3);
  const auto& tcp = listener.filter_chains(0);          // 5000
  const auto& http = listener.filter_chains(1);         // 8080
  const auto& passthrough = listener.filter_chains(2);  // every other port
  EXPECT_EQ(passthrough.tcp().cluster(), "inbound-passthrough");
  EXPECT_EQ(passthrough.match().destination_ports_size(), 0);
  // The policy's mode, not port 5000's.
  EXPECT_EQ(passthrough.tls().mode(), DownstreamTls::PERMISSIVE);
  EXPECT_EQ(tcp.tls().mode(), DownstreamTls::DISABLE);
  EXPECT_FALSE(tcp.tls().has_require_client_certificate());
  EXPECT_EQ(http.tls().mode(), DownstreamTls::PERMISSIVE);
  EXPECT_EQ(http.tls().min_version(), weft::v1::TLS_V1_3);
  EXPECT_TRUE(http.tls().require_client_certificate().value());
}

TEST(SecurityTest, InboundHttpChainsNormalizePathsAndRejectEscapedSlashes) {
  Translator translator(meshModel().build());
  const ProxyResources resources = translator.forProxy(proxyNode("shop", "web-1"));
  const auto inbound = resource<weft::v1::Listener>(resources, ResourceType::kListener, "inbound");
  const auto& normalization = inbound.filter_chains(0).http().path_normalization();
  EXPECT_TRUE(normalization.rfc3986().value());
  EXPECT_TRUE(normalization.merge_slashes());
  EXPECT_EQ(normalization.escaped_slashes(), weft::v1::PathNormalization::REJECT);
  // Outbound requests are normalized by the destination's proxy.
  const auto outbound =
      resource<weft::v1::Listener>(resources, ResourceType::kListener, "outbound");
  EXPECT_FALSE(outbound.filter_chains(0).http().has_path_normalization());
}

TEST(SecurityTest, EndpointsAreMtlsReadyOnlyWhereASidecarAcceptsIt) {
  Translator translator(meshModel().build(), nullptr, testTrustBundle());
  const ProxyResources resources = translator.forProxy(proxyNode("shop", "api-1"));
  auto ready = [&](const std::string& service) {
    const auto assignment = resource<weft::v1::ClusterLoadAssignment>(
        resources, ResourceType::kEndpoints,
        "outbound/" + service + ".shop.svc.cluster.local:8080");
    const auto& endpoint = assignment.endpoints(0).lb_endpoints(0);
    EXPECT_TRUE(endpoint.has_mtls_ready()) << service;
    return endpoint.mtls_ready().value();
  };
  EXPECT_TRUE(ready("web"));   // sidecar, PERMISSIVE by default
  EXPECT_FALSE(ready("db"));   // sidecar, DISABLE
  EXPECT_FALSE(ready("old"));  // no sidecar
  EXPECT_FALSE(ready("api"));  // no sidecar block (capture is not known to the model)
  const auto cluster = resource<weft::v1::Cluster>(resources, ResourceType::kCluster,
                                                   "outbound/web.shop.svc.cluster.local:8080");
  EXPECT_EQ(cluster.tls().mode(), weft::v1::UpstreamTls::MUTUAL_MESH);
  const auto web = resource<weft::v1::ClusterLoadAssignment>(
      resources, ResourceType::kEndpoints, "outbound/web.shop.svc.cluster.local:8080");
  EXPECT_EQ(web.endpoints(0).lb_endpoints(0).identity(), "spiffe://cluster.local/ns/shop/sa/web");
}

TEST(SecurityTest, ACapturingSidecarIsMtlsReadyOnEveryPortAndMayBeStrict) {
  ModelBuilder model = meshModel();
  model.service("shop", "cart", {{"app", "cart"}}, {port(8080), port(6379, PortProtocol::kTcp)});
  model.workload("shop", "cart-1", {{"app", "cart"}},
                 "address: 10.0.4.1\nserviceAccount: cart\ntrafficCapture: true\n");
  model.peerAuthentication("shop", "cart", "selector: {matchLabels: {app: cart}}\nmode: STRICT\n");
  Translator translator(model.build(), nullptr, testTrustBundle());
  const ProxyResources caller = translator.forProxy(proxyNode("shop", "api-1"));
  for (const char* port : {"8080", "6379"}) {
    const auto assignment = resource<weft::v1::ClusterLoadAssignment>(
        caller, ResourceType::kEndpoints,
        std::string("outbound/cart.shop.svc.cluster.local:") + port);
    const auto& endpoint = assignment.endpoints(0).lb_endpoints(0);
    // Callers connect to the application's own port; the capture rules take it to the proxy.
    EXPECT_EQ(std::to_string(endpoint.endpoint().address().port()), port);
    EXPECT_TRUE(endpoint.mtls_ready().value()) << port;
    EXPECT_EQ(endpoint.identity(), "spiffe://cluster.local/ns/shop/sa/cart");
  }
  const auto inbound = resource<weft::v1::Listener>(
      translator.forProxy(proxyNode("shop", "cart-1")), ResourceType::kListener, "inbound");
  ASSERT_EQ(inbound.filter_chains_size(), 3);  // 6379, 8080, and the passthrough
  EXPECT_EQ(inbound.filter_chains(0).tls().mode(), DownstreamTls::STRICT);
  EXPECT_EQ(inbound.filter_chains(1).tls().mode(), DownstreamTls::STRICT);
  EXPECT_EQ(inbound.filter_chains(2).tls().mode(), DownstreamTls::STRICT);
  EXPECT_FALSE(hasProblemContaining(translator.problems(), "cart-1"));
}

TEST(SecurityTest, ACapturingSidecarIsMtlsReadyPerPortAsItsPortModesSay) {
  ModelBuilder model = meshModel();
  model.service("shop", "cart", {{"app", "cart"}}, {port(8080), port(6379, PortProtocol::kTcp)});
  model.workload("shop", "cart-1", {{"app", "cart"}},
                 "address: 10.0.4.1\nserviceAccount: cart\ntrafficCapture: true\n");
  model.peerAuthentication("shop", "cart", R"(
selector: {matchLabels: {app: cart}}
mode: STRICT
portModes: {"6379": DISABLE}
)");
  Translator translator(model.build(), nullptr, testTrustBundle());
  const ProxyResources caller = translator.forProxy(proxyNode("shop", "api-1"));
  auto ready = [&](const std::string& port) {
    return resource<weft::v1::ClusterLoadAssignment>(caller, ResourceType::kEndpoints,
                                                     "outbound/cart.shop.svc.cluster.local:" + port)
        .endpoints(0)
        .lb_endpoints(0)
        .mtls_ready()
        .value();
  };
  // The inbound chain of 6379 takes plaintext only: a caller must not start TLS there.
  EXPECT_TRUE(ready("8080"));
  EXPECT_FALSE(ready("6379"));
}

TEST(SecurityTest, DestinationPolicyTlsDisableAndMeshAreTranslated) {
  ModelBuilder model = meshModel();
  model.destinationPolicy("shop", "web", "host: web\ntrafficPolicy: {tls: {mode: DISABLE}}\n");
  model.destinationPolicy("shop", "old", "host: old\ntrafficPolicy: {tls: {mode: MESH}}\n");
  Translator translator(model.build(), nullptr, testTrustBundle());
  const ProxyResources resources = translator.forProxy(proxyNode("shop", "api-1"));
  const std::string web = "outbound/web.shop.svc.cluster.local:8080";
  const std::string old = "outbound/old.shop.svc.cluster.local:8080";
  EXPECT_FALSE(resource<weft::v1::Cluster>(resources, ResourceType::kCluster, web).has_tls());
  EXPECT_FALSE(resource<weft::v1::ClusterLoadAssignment>(resources, ResourceType::kEndpoints, web)
                   .endpoints(0)
                   .lb_endpoints(0)
                   .has_mtls_ready());
  EXPECT_EQ(resource<weft::v1::Cluster>(resources, ResourceType::kCluster, old).tls().mode(),
            weft::v1::UpstreamTls::MUTUAL_MESH);
  EXPECT_TRUE(resource<weft::v1::ClusterLoadAssignment>(resources, ResourceType::kEndpoints, old)
                  .endpoints(0)
                  .lb_endpoints(0)
                  .mtls_ready()
                  .value());
  EXPECT_FALSE(hasProblemContaining(translator.problems(), "DestinationPolicy shop/web"));
}

TEST(SecurityTest, WithoutACertificateAuthorityNothingIsTls) {
  Translator translator(meshModel().build());
  const ProxyResources resources = translator.forProxy(proxyNode("shop", "api-1"));
  EXPECT_TRUE(resources.of(ResourceType::kSecret).empty());
  const auto inbound = resource<weft::v1::Listener>(resources, ResourceType::kListener, "inbound");
  for (const auto& chain : inbound.filter_chains()) {
    EXPECT_FALSE(chain.has_tls());
  }
  const std::string web = "outbound/web.shop.svc.cluster.local:8080";
  EXPECT_FALSE(resource<weft::v1::Cluster>(resources, ResourceType::kCluster, web).has_tls());
  EXPECT_FALSE(resource<weft::v1::ClusterLoadAssignment>(resources, ResourceType::kEndpoints, web)
                   .endpoints(0)
                   .lb_endpoints(0)
                   .has_mtls_ready());
  EXPECT_TRUE(hasProblemContaining(translator.problems(),
                                   "PeerAuthentication shop/api: not enforced, since the control "
                                   "plane has no certificate authority"));
}

// --- Trust bundle ---------------------------------------------------------------------------

TEST(TrustBundleTest, SentToProxiesThatUseMeshTlsAndSharedAcrossTranslations) {
  ModelBuilder model = meshModel();
  Translator translator(model.build(), nullptr, testTrustBundle());
  const ProxyResources api = translator.forProxy(proxyNode("shop", "api-1"));
  ASSERT_EQ(names(api, ResourceType::kSecret), std::vector<std::string>{"trust-bundle"});
  const auto secret = resource<weft::v1::Secret>(api, ResourceType::kSecret, "trust-bundle");
  EXPECT_EQ(secret.validation_context().trusted_ca(), *testTrustBundle());
  EXPECT_EQ(secret.validation_context().trust_domain(), "cluster.local");

  // A proxy outside the mesh's services with no mesh TLS cluster: nothing to verify.
  ModelBuilder lonely;
  lonely.workload("solo", "db-1", {{"app", "db"}},
                  "address: 10.0.9.1\nsidecar: {inboundPort: 15006, outboundPort: 15001}\n");
  lonely.peerAuthentication("solo", "default", "mode: DISABLE\n");
  Translator solo(lonely.build(), nullptr, testTrustBundle());
  EXPECT_TRUE(solo.forProxy(proxyNode("solo", "db-1")).of(ResourceType::kSecret).empty());

  // The next translation with the same bundle keeps the resource; new roots change it.
  model.workload("shop", "old-2", {{"app", "old"}}, "address: 10.0.3.2\n");
  Translator next(model.build(), &translator, testTrustBundle());
  EXPECT_EQ(next.forProxy(proxyNode("shop", "api-1")).of(ResourceType::kSecret),
            api.of(ResourceType::kSecret));
  auto rotated = std::make_shared<const std::string>(*testTrustBundle() + *testTrustBundle());
  Translator rotation(model.build(), &next, rotated);
  const auto after = rotation.forProxy(proxyNode("shop", "api-1")).of(ResourceType::kSecret);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_NE(after[0]->version, api.of(ResourceType::kSecret)[0]->version);
}

// --- AuthorizationPolicy ---------------------------------------------------------------------

TEST(AuthorizationTest, ChainsListThePoliciesSelectingTheWorkloadAndOnlyThoseAreSent) {
  ModelBuilder model = meshModel();
  model.authorizationPolicy(kRootNamespace, "mesh-deny", "action: DENY\nrules: [{}]\n");
  model.authorizationPolicy(kRootNamespace, "system-api",
                            "selector: {matchLabels: {app: api}}\nrules: [{}]\n");
  model.authorizationPolicy("shop", "namespace", "rules: [{}]\n");
  model.authorizationPolicy("shop", "api", "selector: {matchLabels: {app: api}}\nrules: [{}]\n");
  model.authorizationPolicy("shop", "web", "selector: {matchLabels: {app: web}}\nrules: [{}]\n");
  model.authorizationPolicy("other", "namespace", "rules: [{}]\n");
  Translator translator(model.build(), nullptr, testTrustBundle());
  const ProxyResources resources = translator.forProxy(proxyNode("shop", "api-1"));
  const std::vector<std::string> expected = {"shop/api", "shop/namespace", "weft-system/mesh-deny"};
  EXPECT_EQ(names(resources, ResourceType::kAuthorization), expected);
  const auto inbound = resource<weft::v1::Listener>(resources, ResourceType::kListener, "inbound");
  for (const auto& chain : inbound.filter_chains()) {
    EXPECT_EQ(std::vector<std::string>(chain.authorization().policies().begin(),
                                       chain.authorization().policies().end()),
              expected);
  }
  const auto web = translator.forProxy(proxyNode("shop", "web-1"));
  EXPECT_EQ(names(web, ResourceType::kAuthorization),
            (std::vector<std::string>{"shop/namespace", "shop/web", "weft-system/mesh-deny"}));
  // The shared policy is one resource for both proxies.
  EXPECT_EQ(resources.of(ResourceType::kAuthorization)[1], web.of(ResourceType::kAuthorization)[0]);
}

weft::v1::AuthorizationPolicy translated(const std::string& yaml, ProblemLog& problems,
                                         const std::string& trust_domain = "cluster.local") {
  ModelBuilder model;
  model.authorizationPolicy("shop", "p", yaml);
  MeshSettings settings;
  settings.trust_domain = trust_domain;
  return translateAuthorizationPolicy(*model.build()->authorization_policies.at("shop/p"), settings,
                                      problems);
}

TEST(AuthorizationTest, ServiceAccountsBecomePrincipalsOfTheTrustDomain) {
  ProblemLog problems;
  const auto policy = translated(R"(
rules:
- from: [{serviceAccounts: [shop/web, ops/*], principals: ["spiffe://corp.example/ns/x/sa/y"]}]
)",
                                 problems, "corp.example");
  EXPECT_EQ(policy.name(), "shop/p");
  const auto& principals = policy.rules(0).from(0).principals();
  EXPECT_EQ(std::vector<std::string>(principals.begin(), principals.end()),
            (std::vector<std::string>{"spiffe://corp.example/ns/shop/sa/web",
                                      "spiffe://corp.example/ns/ops/sa/*",
                                      "spiffe://corp.example/ns/x/sa/y"}));
  EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems.messages());
}

TEST(AuthorizationTest, AnAllowRuleThatCannotBeTranslatedBecomesNarrower) {
  ProblemLog problems;
  const auto policy = translated(R"(
rules:
- to: [{paths: ["/a/*/b", /ok], methods: [GET, "*"], notPaths: ["/x/*/y"]}]
- from: [{principals: ["spiffe://cluster.local/ns/*/sa/x"]}]
)",
                                 problems);
  ASSERT_EQ(policy.rules_size(), 1);
  const auto& to = policy.rules(0).to(0);
  EXPECT_EQ(std::vector<std::string>(to.paths().begin(), to.paths().end()),
            std::vector<std::string>{"/ok"});
  EXPECT_EQ(std::vector<std::string>(to.methods().begin(), to.methods().end()),
            std::vector<std::string>{"GET"});
  EXPECT_EQ(std::vector<std::string>(to.not_paths().begin(), to.not_paths().end()),
            std::vector<std::string>{"/x/*"});
  const auto messages = problems.messages();
  EXPECT_TRUE(hasProblemContaining(
      messages, "AuthorizationPolicy shop/p: rules[0].to[0].paths[0] \"/a/*/b\""));
  EXPECT_TRUE(hasProblemContaining(messages, "rules[0].to[0].methods[1] \"*\""));
  EXPECT_TRUE(hasProblemContaining(messages, "rules[1] matches nothing after that"));
}

TEST(AuthorizationTest, AnAllowPolicyLosingEveryRuleAllowsNothing) {
  ProblemLog problems;
  const auto policy = translated("rules: [{from: [{serviceAccounts: [nope]}]}]\n", problems);
  EXPECT_EQ(policy.action(), weft::v1::AuthorizationPolicy::ALLOW);
  EXPECT_EQ(policy.rules_size(), 0);
  EXPECT_TRUE(hasProblemContaining(problems.messages(), "the policy allows nothing"));
}

TEST(AuthorizationTest, ADenyRuleThatCannotBeTranslatedBecomesBroader) {
  ProblemLog problems;
  const auto policy = translated(R"(
action: DENY
dryRun: true
rules:
- from: [{serviceAccounts: ["*/robot"], notNamespaces: ["a*b", shop]}]
  to: [{paths: ["/admin/*/edit"], methods: [DELETE, "*"], notMethods: [get]}]
)",
                                 problems);
  EXPECT_EQ(policy.action(), weft::v1::AuthorizationPolicy::DENY);
  EXPECT_TRUE(policy.dry_run());
  ASSERT_EQ(policy.rules_size(), 1);
  const auto& from = policy.rules(0).from(0);
  EXPECT_EQ(std::vector<std::string>(from.principals().begin(), from.principals().end()),
            std::vector<std::string>{"spiffe://cluster.local/ns/*"});
  EXPECT_EQ(std::vector<std::string>(from.not_namespaces().begin(), from.not_namespaces().end()),
            std::vector<std::string>{"shop"});
  const auto& to = policy.rules(0).to(0);
  EXPECT_EQ(std::vector<std::string>(to.paths().begin(), to.paths().end()),
            std::vector<std::string>{"/admin/*"});
  EXPECT_TRUE(to.methods().empty());
  EXPECT_TRUE(to.not_methods().empty());
  EXPECT_TRUE(hasProblemContaining(problems.messages(), "rules[0].to[0].notMethods[0] \"get\""));
}

TEST(AuthorizationTest, AStarAloneIsAnyMethodAndNoProblem) {
  ProblemLog problems;
  const auto policy = translated("rules: [{to: [{methods: [\"*\"]}]}]\n", problems);
  EXPECT_TRUE(policy.rules(0).to(0).methods().empty());
  EXPECT_TRUE(problems.empty());
}

// --- Taking over from the previous Translator -------------------------------------------------

TEST(SecurityTest, APeerAuthenticationEditRebuildsExactlyWhatItSelects) {
  ModelBuilder model = meshModel();
  Translator before(model.build(), nullptr, testTrustBundle());
  const ProxyResources old_api = before.forProxy(proxyNode("shop", "api-1"));
  const ProxyResources old_web = before.forProxy(proxyNode("shop", "web-1"));
  model.peerAuthentication("shop", "web", "selector: {matchLabels: {app: web}}\nmode: DISABLE\n");
  Translator after(model.build(), &before, testTrustBundle());
  const ProxyResources new_api = after.forProxy(proxyNode("shop", "api-1"));
  const ProxyResources new_web = after.forProxy(proxyNode("shop", "web-1"));
  const std::string web = "outbound/web.shop.svc.cluster.local:8080";
  EXPECT_EQ(
      resource<weft::v1::Listener>(new_api, ResourceType::kListener, "inbound").SerializeAsString(),
      resource<weft::v1::Listener>(old_api, ResourceType::kListener, "inbound")
          .SerializeAsString());
  EXPECT_NE(
      resource<weft::v1::Listener>(new_web, ResourceType::kListener, "inbound").SerializeAsString(),
      resource<weft::v1::Listener>(old_web, ResourceType::kListener, "inbound")
          .SerializeAsString());
  EXPECT_FALSE(resource<weft::v1::ClusterLoadAssignment>(new_api, ResourceType::kEndpoints, web)
                   .endpoints(0)
                   .lb_endpoints(0)
                   .mtls_ready()
                   .value());
}

}  // namespace
}  // namespace weft::controlplane::testing
