#include "tests/unit/controlplane/translate/golden_cases.h"

#include "tests/unit/controlplane/translate/model_builder.h"

namespace weft::controlplane::testing {
namespace {

weft::v1::Locality zone(const std::string& region, const std::string& name) {
  weft::v1::Locality locality;
  locality.set_region(region);
  locality.set_zone(name);
  return locality;
}

// Local mode on one host: every workload on 127.0.0.1 with its own application port and
// sidecar ports. productpage calls reviews, whose TrafficRoute sends user "jason" to v2 and
// splits everyone else 90/10 between v1 and v3; reviews calls ratings, ratings calls a
// database on a TCP port, which local mode cannot reach.
GoldenCase bookinfoLocal() {
  ModelBuilder model;
  auto app = [&](const std::string& name, const std::string& version, int app_port,
                 int sidecar_port) {
    model.workload("default", name + "-" + version, {{"app", name}, {"version", version}},
                   "address: 127.0.0.1\n"
                   "serviceAccount: bookinfo-" +
                       name +
                       "\n"
                       "ports: [{name: http, port: " +
                       std::to_string(app_port) +
                       "}]\n"
                       "sidecar: {inboundPort: " +
                       std::to_string(sidecar_port) +
                       ", outboundPort: " + std::to_string(sidecar_port + 1) + "}\n");
  };
  model.service("default", "productpage", {{"app", "productpage"}},
                {port(9080, PortProtocol::kHttp, 0, "http")});
  model.service("default", "reviews", {{"app", "reviews"}},
                {port(9080, PortProtocol::kHttp, 0, "http")});
  model.service("default", "ratings", {{"app", "ratings"}},
                {port(9080, PortProtocol::kHttp, 0, "http")});
  model.service("default", "mongodb", {{"app", "mongodb"}}, {port(27017, PortProtocol::kTcp)});
  app("productpage", "v1", 19080, 15100);
  app("reviews", "v1", 19081, 15110);
  app("reviews", "v2", 19082, 15120);
  app("reviews", "v3", 19083, 15130);
  app("ratings", "v1", 19084, 15140);
  model.workload("default", "mongodb-v1", {{"app", "mongodb"}}, "address: 127.0.0.1\n");
  model.destinationPolicy("default", "reviews", R"(
host: reviews
subsets:
- {name: v1, labels: {version: v1}}
- {name: v2, labels: {version: v2}}
- {name: v3, labels: {version: v3}}
)");
  model.trafficRoute("default", "reviews", R"(
hosts: [reviews]
rules:
- name: jason
  matches:
  - headers: [{name: end-user, exact: jason}]
  backends: [{subset: v2}]
- name: canary
  backends:
  - {subset: v1, weight: 90}
  - {subset: v3, weight: 10}
)");
  return {"bookinfo_local",
          "local mode: productpage -> reviews v1/v2/v3 (header rule and canary), ratings; "
          "TCP mongodb unreachable without capture",
          model.build(),
          {proxyNode("default", "productpage-v1"), proxyNode("default", "reviews-v2")},
          {},
          nullptr};
}

// Every kind of match and rewrite a rule can carry, in local mode.
GoldenCase headerMatch() {
  ModelBuilder model;
  model.service("web", "frontend", {{"app", "frontend"}}, {port(80)});
  model.service("web", "api", {{"app", "api"}}, {port(8080)});
  model.workload("web", "frontend-1", {{"app", "frontend"}},
                 "address: 10.0.0.1\nsidecar: {inboundPort: 15006, outboundPort: 15001}\n");
  model.workload("web", "api-1", {{"app", "api"}, {"track", "stable"}},
                 "address: 10.0.0.2\nsidecar: {inboundPort: 15006, outboundPort: 15001}\n");
  model.workload("web", "api-2", {{"app", "api"}, {"track", "beta"}},
                 "address: 10.0.0.3\nsidecar: {inboundPort: 15006, outboundPort: 15001}\n");
  model.destinationPolicy("web", "api", R"(
host: api.web.svc.cluster.local
subsets:
- {name: stable, labels: {track: stable}}
- {name: beta, labels: {track: beta}}
)");
  model.trafficRoute("web", "api", R"(
hosts: [api]
port: 8080
rules:
- name: health
  matches: [{path: {exact: /healthz}}]
- name: users
  matches:
  - {path: {prefix: /api/users}, method: GET}
  - {path: {prefix: /v2/users}}
  rewrite: {pathPrefix: /users}
  requestHeaders:
    set: {x-route: users, x-api-version: "2"}
    remove: [x-debug]
  responseHeaders:
    add: {cache-control: no-store}
- name: beta
  matches:
  - headers: [{name: x-beta, present: true}]
    queryParams: [{name: variant, exact: b}]
  backends: [{subset: beta}]
  timeout: 0s
- name: static
  matches: [{path: {prefix: /static/}}]
  backends: [{subset: stable}]
- matches: [{path: {regex: "/items/[0-9]+"}}]
  timeout: 2s
)");
  return {"header_match",
          "local mode: exact, segment prefix, trailing-slash prefix, regex, header, query and "
          "method matches; path prefix rewrite; header rewrites; timeouts",
          model.build(),
          {proxyNode("web", "frontend-1")},
          {},
          nullptr};
}

// Pods with traffic capture behind a DestinationPolicy with subsets, consistent hashing, a
// subset that overrides the algorithm, connection pool settings the proxy implements, and a
// locality-aware service seen from a proxy in one zone.
GoldenCase destinationPolicy() {
  ModelBuilder model;
  model.service("shop", "frontend", {{"app", "frontend"}}, {port(80, PortProtocol::kHttp, 8080)});
  model.service("shop", "cart", {{"app", "cart"}}, {port(8080)});
  model.service("shop", "catalog", {{"app", "catalog"}}, {port(9090, PortProtocol::kGrpc)});
  model.workload("shop", "frontend-7d9f", {{"app", "frontend"}},
                 "address: 10.1.0.5\nlocality: {region: eu-west1, zone: eu-west1-b}\n");
  model.workload("shop", "cart-stable-1", {{"app", "cart"}, {"track", "stable"}},
                 "address: 10.1.1.1\nserviceAccount: cart\n");
  model.workload("shop", "cart-stable-2", {{"app", "cart"}, {"track", "stable"}},
                 "address: 10.1.1.2\nserviceAccount: cart\n");
  model.workload("shop", "cart-canary-1", {{"app", "cart"}, {"track", "canary"}},
                 "address: 10.1.1.3\nserviceAccount: cart\n");
  model.workload("shop", "catalog-b", {{"app", "catalog"}},
                 "address: 10.1.2.1\nlocality: {region: eu-west1, zone: eu-west1-b}\n");
  model.workload("shop", "catalog-c", {{"app", "catalog"}},
                 "address: 10.1.2.2\nlocality: {region: eu-west1, zone: eu-west1-c}\n");
  model.workload("shop", "catalog-us", {{"app", "catalog"}},
                 "address: 10.1.2.3\nlocality: {region: us-east1, zone: us-east1-a}\n");
  model.destinationPolicy("shop", "cart", R"(
host: cart
trafficPolicy:
  loadBalancer:
    algorithm: RING_HASH
    consistentHash: {header: x-user}
  connectionPool:
    connectTimeout: 250ms
    idleTimeout: 30s
    maxRequestsPerConnection: 100
    maxConnectionsPerEndpoint: 8
subsets:
- {name: stable, labels: {track: stable}}
- name: canary
  labels: {track: canary}
  trafficPolicy:
    loadBalancer: {algorithm: ROUND_ROBIN}
)");
  model.destinationPolicy("shop", "catalog", R"(
host: catalog
trafficPolicy:
  loadBalancer: {algorithm: RANDOM, localityAware: true}
)");
  model.trafficRoute("shop", "cart", R"(
hosts: [cart]
rules:
- name: split
  backends:
  - {subset: stable, weight: 95}
  - {subset: canary, weight: 5}
)");
  return {"destination_policy",
          "capture mode: subsets, RING_HASH with a header key (route hash policy), a subset "
          "overriding the algorithm, pool settings, locality-aware endpoints",
          model.build(),
          {proxyNode("shop", "frontend-7d9f", zone("eu-west1", "eu-west1-b"))},
          {},
          nullptr};
}

// Settings the mesh translates although today's proxy rejects them: circuit-breaker limits,
// outlier detection, active health checks, retries (a rule's and the mesh default with a
// retry budget), fault injection and mirroring.
GoldenCase resilience() {
  ModelBuilder model;
  model.meshConfig(R"(
defaultRetries: {attempts: 2, retryOn: [connect-failure, refused-stream, 5xx]}
retryBudgetPercent: 25
)");
  model.service("shop", "checkout", {{"app", "checkout"}}, {port(8080)});
  model.service("shop", "payments", {{"app", "payments"}}, {port(8080)});
  model.service("shop", "payments-shadow", {{"app", "payments-shadow"}}, {port(8080)});
  model.workload("shop", "checkout-1", {{"app", "checkout"}}, "address: 10.2.0.1\n");
  model.workload("shop", "payments-1", {{"app", "payments"}}, "address: 10.2.1.1\n");
  model.workload("shop", "payments-shadow-1", {{"app", "payments-shadow"}}, "address: 10.2.2.1\n");
  model.destinationPolicy("shop", "payments", R"(
host: payments
trafficPolicy:
  connectionPool: {maxConnections: 100, maxPendingRequests: 50, maxRequests: 200, maxRetries: 5}
  outlierDetection: {consecutiveErrors: 3, interval: 5s, baseEjectionTime: 1m, maxEjectionPercent: 50}
  healthCheck: {httpPath: /healthz, interval: 5s}
)");
  model.trafficRoute("shop", "payments", R"(
hosts: [payments]
rules:
- name: charge
  matches: [{path: {prefix: /charge}, method: POST}]
  retries: {attempts: 0}
  timeout: 10s
- name: refunds
  matches: [{path: {prefix: /refunds}}]
  retries: {attempts: 3, perTryTimeout: 2s, retryOn: [gateway-error, unavailable], backoff: 50ms}
  fault:
    delay: {fixedDelay: 100ms, percentage: 5}
    abort: {httpStatus: 503, percentage: 1}
  mirror:
    backend: {service: payments-shadow}
    percentage: 10
)");
  return {"resilience",
          "capture mode: circuit breakers, outlier detection, health check, retries (rule, mesh "
          "default, attempts 0), retry budget, fault injection, mirroring",
          model.build(),
          {proxyNode("shop", "checkout-1")},
          {},
          nullptr};
}

// Pods with traffic capture: HTTP, gRPC and TCP services, a TCP port two services share (not
// reachable), a port that is HTTP for one service and TCP for another, an authority rewrite,
// and a pod that is not in the model (no inbound listener).
GoldenCase redirectMode() {
  ModelBuilder model;
  model.service("apps", "web", {{"app", "web"}},
                {port(80, PortProtocol::kHttp, 8080), port(9000, PortProtocol::kTcp, 0, "admin")});
  model.service("apps", "search", {{"app", "search"}}, {port(9090, PortProtocol::kGrpc)});
  model.service("apps", "postgres", {{"app", "postgres"}}, {port(5432, PortProtocol::kTcp)});
  model.service("apps", "postgres-replica", {{"app", "postgres-replica"}},
                {port(5432, PortProtocol::kTcp)});
  model.service("apps", "redis", {{"app", "redis"}}, {port(6379, PortProtocol::kTcp)});
  model.service("apps", "legacy", {{"app", "legacy"}}, {port(8000, PortProtocol::kTcp)});
  model.service("apps", "docs", {{"app", "docs"}}, {port(8000)});
  model.workload(
      "apps", "web-1", {{"app", "web"}},
      "address: 10.3.0.1\nports: [{name: http, port: 8080}, {name: admin, port: 9001}]\n");
  model.workload("apps", "search-1", {{"app", "search"}}, "address: 10.3.1.1\n");
  model.workload("apps", "postgres-0", {{"app", "postgres"}}, "address: 10.3.2.1\n");
  model.workload("apps", "postgres-1", {{"app", "postgres-replica"}}, "address: 10.3.2.2\n");
  model.workload("apps", "redis-0", {{"app", "redis"}}, "address: 10.3.3.1\n");
  model.workload("apps", "legacy-0", {{"app", "legacy"}}, "address: 10.3.4.1\n");
  model.workload("apps", "docs-0", {{"app", "docs"}}, "address: 10.3.5.1\n");
  model.trafficRoute("apps", "search", R"(
hosts: [search]
rules:
- matches: [{path: {prefix: /search.v1.Search/}}]
  rewrite: {authority: search.internal}
  timeout: 0s
)");
  weft::v1::Node outside = proxyNode("apps", "batch-job-x7");
  return {"redirect_mode",
          "capture mode: chains per port (HTTP, gRPC, TCP), shared TCP port and mixed "
          "HTTP/TCP port reported, inbound chains, a pod without Workload",
          model.build(),
          {proxyNode("apps", "web-1"), outside},
          {},
          nullptr};
}

// Three namespaces and a shared one: what a proxy in "shop" sees.
ModelBuilder visibilityModel() {
  ModelBuilder model;
  model.service("shop", "storefront", {{"app", "storefront"}}, {port(8080)});
  model.service("shop", "cart", {{"app", "cart"}}, {port(8080)});
  model.service("payments", "checkout", {{"app", "checkout"}}, {port(8080)});
  model.service("payments", "fraud", {{"app", "fraud"}}, {port(8080)});
  model.service("payments", "ledger", {{"app", "ledger"}}, {port(8080)});
  model.service("platform", "auth", {{"app", "auth"}}, {port(80, PortProtocol::kHttp, 8080)});
  model.service("other", "reports", {{"app", "reports"}}, {port(8080)});
  model.workload("shop", "storefront-1", {{"app", "storefront"}}, "address: 10.4.0.1\n");
  model.workload("shop", "cart-1", {{"app", "cart"}}, "address: 10.4.0.2\n");
  model.workload("payments", "checkout-1", {{"app", "checkout"}}, "address: 10.4.1.1\n");
  model.workload("payments", "fraud-1", {{"app", "fraud"}}, "address: 10.4.1.2\n");
  model.workload("payments", "ledger-1", {{"app", "ledger"}}, "address: 10.4.1.3\n");
  model.workload("platform", "auth-1", {{"app", "auth"}}, "address: 10.4.2.1\n");
  model.workload("other", "reports-1", {{"app", "reports"}}, "address: 10.4.3.1\n");
  // shop's clients call checkout in payments; checkout's own TrafficRoute sends some of its
  // traffic to fraud, so fraud must be visible wherever checkout is.
  model.trafficRoute("shop", "cart", R"(
hosts: [cart]
rules:
- name: pay
  matches: [{path: {prefix: /pay}}]
  backends: [{service: checkout.payments, port: 8080}]
)");
  model.trafficRoute("payments", "checkout", R"(
hosts: [checkout]
rules:
- name: review
  matches: [{headers: [{name: x-risk, exact: high}]}]
  backends: [{service: fraud}]
)");
  return model;
}

GoldenCase visibility(const std::string& name, const std::string& description,
                      const std::string& mesh_config) {
  ModelBuilder model = visibilityModel();
  if (!mesh_config.empty()) {
    model.meshConfig(mesh_config);
  }
  return {name, description, model.build(), {proxyNode("shop", "storefront-1")}, {}, nullptr};
}

// Mistakes a user can make; each is reported and only the offending part is left out.
GoldenCase missingService() {
  ModelBuilder model;
  model.service("default", "web", {{"app", "web"}}, {port(8080)});
  model.service("default", "api", {{"app", "api"}}, {port(8080), port(5000, PortProtocol::kTcp)});
  model.workload("default", "web-1", {{"app", "web"}},
                 "address: 127.0.0.1\n"
                 "sidecar: {inboundPort: 15200, outboundPort: 15201}\n");
  model.workload("default", "api-1", {{"app", "api"}},
                 "address: 127.0.0.1\nsidecar: {inboundPort: 15210, outboundPort: 15211}\n");
  model.trafficRoute("default", "api", R"(
hosts: [api, ghost]
rules:
- name: to-missing-service
  matches: [{path: {prefix: /a}}]
  backends: [{service: nowhere}]
- name: to-missing-subset
  matches: [{path: {prefix: /b}}]
  backends: [{subset: v9}]
- name: to-missing-port
  matches: [{path: {prefix: /c}}]
  backends: [{port: 9999}]
- name: to-tcp-port
  matches: [{path: {prefix: /d}}]
  backends: [{port: 5000}]
- name: unweighted
  matches: [{path: {prefix: /e}}]
  backends: [{service: api, weight: 1}, {service: web}]
- name: sets-host
  matches: [{path: {prefix: /f}}]
  requestHeaders: {set: {host: other}}
- name: bad-regex
  matches: [{path: {regex: "/g/(unclosed"}}]
- name: exact-rewrite
  matches: [{path: {exact: /h}}]
  rewrite: {pathPrefix: /x}
- name: kept
  matches: [{path: {prefix: /ok}}]
  timeout: 3s
)");
  model.trafficRoute("default", "api-again", R"(
hosts: [api]
rules:
- backends: [{service: web}]
)");
  model.trafficRoute("default", "tcp-only", R"(
hosts: [api]
port: 5000
rules:
- timeout: 1s
)");
  model.destinationPolicy("default", "phantom", "host: phantom\n");
  model.authorizationPolicy("default", "deny-all", "{}\n");
  return {"missing_service",
          "local mode: rules naming a missing service, subset or port, a TCP port, missing "
          "weights, a forbidden header, a bad regex, a rewrite without prefix; conflicting "
          "TrafficRoutes; all reported, only the offending rules skipped",
          model.build(),
          {proxyNode("default", "web-1")},
          {},
          nullptr};
}

// PeerAuthentication and auto mTLS with a certificate authority. Mesh-wide STRICT; shop's
// namespace-wide policy leaves the mode UNSET (inherits) and a second one is ignored; payments
// (with capture) has per-port modes, and a second selector policy for it is ignored; cart (local
// mode) has ports of different modes on its one inbound port; ledger DISABLEs mTLS; legacy has
// no sidecar. DestinationPolicies: a subset with tls DISABLE, MESH to a workload without
// sidecar, SIMPLE (not translated).
GoldenCase peerAuthentication() {
  ModelBuilder model;
  auto local = [](const std::string& address, const std::string& ports, int inbound) {
    return "address: " + address + "\nports: " + ports +
           "\nsidecar: {inboundPort: " + std::to_string(inbound) +
           ", outboundPort: " + std::to_string(inbound + 1) + "}\n";
  };
  model.peerAuthentication(kRootNamespace, "default", "mode: STRICT\n");
  model.peerAuthentication("shop", "default", "{}\n");
  model.peerAuthentication("shop", "default-too", "mode: DISABLE\n");
  model.peerAuthentication("shop", "payments", R"(
selector: {matchLabels: {app: payments}}
portModes: {"9091": PERMISSIVE, "9092": DISABLE}
)");
  model.peerAuthentication("shop", "payments-legacy",
                           "selector: {matchLabels: {app: payments}}\nmode: DISABLE\n");
  model.peerAuthentication("shop", "cart", R"(
selector: {matchLabels: {app: cart}}
mode: PERMISSIVE
portModes: {"7001": STRICT}
)");
  model.peerAuthentication("shop", "ledger",
                           "selector: {matchLabels: {app: ledger}}\nmode: DISABLE\n");
  model.peerAuthentication("ops", "default", "mode: PERMISSIVE\nportModes: {\"8080\": STRICT}\n");
  model.service("shop", "frontend", {{"app", "frontend"}}, {port(8080)});
  model.service("shop", "payments", {{"app", "payments"}},
                {port(9090), port(9091), port(9092, PortProtocol::kTcp)});
  model.service("shop", "cart", {{"app", "cart"}}, {port(7000), port(7001)});
  model.service("shop", "ledger", {{"app", "ledger"}}, {port(8080)});
  model.service("shop", "legacy", {{"app", "legacy"}}, {port(8080)});
  model.service("shop", "partner", {{"app", "partner"}}, {port(443)});
  model.workload("shop", "frontend-1", {{"app", "frontend"}},
                 local("10.5.0.1", "[{name: http, port: 8080}]", 15006));
  model.workload("shop", "payments-1", {{"app", "payments"}},
                 "address: 10.5.1.1\nserviceAccount: payments\n");
  model.workload("shop", "cart-1", {{"app", "cart"}, {"track", "stable"}},
                 local("10.5.2.1", "[{port: 7000}, {port: 7001}]", 15006));
  model.workload("shop", "cart-2", {{"app", "cart"}, {"track", "plain"}},
                 local("10.5.2.2", "[{port: 7000}, {port: 7001}]", 15006));
  model.workload("shop", "ledger-1", {{"app", "ledger"}},
                 local("10.5.3.1", "[{port: 8080}]", 15006));
  model.workload("shop", "legacy-1", {{"app", "legacy"}}, "address: 10.5.4.1\n");
  model.workload("shop", "partner-1", {{"app", "partner"}}, "address: 10.5.5.1\n");
  model.destinationPolicy("shop", "cart", R"(
host: cart
subsets:
- {name: stable, labels: {track: stable}}
- name: plain
  labels: {track: plain}
  trafficPolicy: {tls: {mode: DISABLE}}
)");
  model.destinationPolicy("shop", "legacy", "host: legacy\ntrafficPolicy: {tls: {mode: MESH}}\n");
  model.destinationPolicy(
      "shop", "partner",
      "host: partner\ntrafficPolicy: {tls: {mode: SIMPLE, sni: api.partner.example}}\n");
  return {"peer_authentication",
          "mTLS with a CA: mode precedence and inheritance, portModes, conflicts, local mode's "
          "one inbound port, auto mTLS by sidecar and mode, DestinationPolicy tls",
          model.build(),
          {proxyNode("shop", "frontend-1"), proxyNode("shop", "payments-1"),
           proxyNode("shop", "cart-1")},
          {},
          testTrustBundle()};
}

// AuthorizationPolicies with a CA and trust domain corp.example: a mesh-wide DENY, one in the
// root namespace with a selector (not mesh-wide), namespace-wide and selector policies, service
// accounts as principals, dry run, and pieces that cannot be translated, dropped (ALLOW) or
// widened (DENY).
GoldenCase authorization() {
  ModelBuilder model;
  model.meshConfig("trustDomain: corp.example\n");
  model.service("shop", "api", {{"app", "api"}}, {port(8080), port(5000, PortProtocol::kTcp)});
  model.service("shop", "web", {{"app", "web"}}, {port(8080)});
  model.workload("shop", "api-1", {{"app", "api"}}, "address: 10.6.0.1\nserviceAccount: api\n");
  model.workload("shop", "web-1", {{"app", "web"}}, "address: 10.6.1.1\nserviceAccount: web\n");
  model.authorizationPolicy(kRootNamespace, "deny-debug", R"(
action: DENY
rules: [{to: [{paths: [/debug/*]}]}]
)");
  model.authorizationPolicy(kRootNamespace, "system-only",
                            "selector: {matchLabels: {app: api}}\nrules: [{}]\n");
  model.authorizationPolicy("shop", "audit-writes", R"(
action: AUDIT
rules: [{to: [{methods: ["*"], notMethods: [GET, HEAD]}]}]
)");
  model.authorizationPolicy("shop", "api-callers", R"(
selector: {matchLabels: {app: api}}
rules:
- from:
  - serviceAccounts: [shop/web, shop/batch-*]
    principals: ["spiffe://corp.example/ns/ops/sa/*"]
  - namespaces: [monitoring]
    notPrincipals: ["spiffe://corp.example/ns/monitoring/sa/untrusted"]
  to:
  - {ports: [8080], methods: [GET, POST], paths: [/api/*, "*.json"], notPaths: [/api/admin/*]}
  - {ports: [5000]}
)");
  model.authorizationPolicy("shop", "api-dry-deny", R"(
selector: {matchLabels: {app: api}}
action: DENY
dryRun: true
rules: [{from: [{notNamespaces: [shop, monitoring]}]}]
)");
  model.authorizationPolicy("shop", "web-open",
                            "selector: {matchLabels: {app: web}}\nrules: [{}]\n");
  model.authorizationPolicy("shop", "broken-allow", R"(
selector: {matchLabels: {app: api}}
rules:
- from: [{principals: ["spiffe://corp.example/ns/*/sa/x"]}]
  to: [{paths: ["/a/*/b", /ok]}]
- to: [{methods: [GET, "*"], notPaths: ["/x/*/y"]}]
- from: [{serviceAccounts: [nope]}]
)");
  model.authorizationPolicy("shop", "broken-deny", R"(
selector: {matchLabels: {app: api}}
action: DENY
rules:
- from: [{serviceAccounts: ["*/robot", shop/ok], notNamespaces: ["a*b", shop]}]
  to: [{paths: ["/admin/*/edit"], methods: [DELETE, "*"]}]
)");
  return {"authorization",
          "AuthorizationPolicy selection (namespace, selector, root namespace), service accounts "
          "as principals, dry run, invalid pieces dropped (ALLOW) or widened (DENY)",
          model.build(),
          {proxyNode("shop", "api-1"), proxyNode("shop", "web-1")},
          {},
          testTrustBundle()};
}

// The same kinds without a certificate authority: no TLS and no trust bundle anywhere,
// PeerAuthentication reported as not enforced, authorization still sent.
GoldenCase withoutCertificateAuthority() {
  ModelBuilder model;
  model.peerAuthentication(kRootNamespace, "default", "mode: STRICT\n");
  model.service("dev", "api", {{"app", "api"}}, {port(8080)});
  model.workload("dev", "api-1", {{"app", "api"}},
                 "address: 127.0.0.1\nsidecar: {inboundPort: 15300, outboundPort: 15301}\n");
  model.authorizationPolicy("dev", "callers", R"(
rules: [{from: [{serviceAccounts: [dev/web]}]}, {to: [{paths: [/healthz]}]}]
)");
  return {"without_certificate_authority",
          "no CA: plaintext, no trust-bundle Secret, PeerAuthentication not enforced, "
          "authorization sent with identity rules reported",
          model.build(),
          {proxyNode("dev", "api-1")},
          {},
          nullptr};
}

// MeshConfig accessLogging and tracing: every chain of the proxy, HTTP and TCP, inbound and
// outbound, gets the access log (TEXT to stdout, sampled, failures only); every HTTP chain gets
// the tracing sampling.
GoldenCase accessLogging() {
  ModelBuilder model;
  model.meshConfig(R"(
accessLogging: {format: TEXT, samplingPercent: 10, errorsOnly: true}
tracing: {exporter: OTLP_HTTP_JSON, collector: "otel-collector.observability:4318", samplingPercent: 5}
)");
  model.service("shop", "web", {{"app", "web"}}, {port(8080)});
  model.service("shop", "db", {{"app", "db"}}, {port(5432, PortProtocol::kTcp)});
  model.workload("shop", "web-1", {{"app", "web"}}, "address: 10.3.0.1\n");
  model.workload("shop", "db-1", {{"app", "db"}}, "address: 10.3.1.1\n");
  return {"access_logging",
          "capture mode: MeshConfig accessLogging on every HTTP and TCP chain, inbound and "
          "outbound; tracing sampling on every HTTP chain",
          model.build(),
          {proxyNode("shop", "web-1"), proxyNode("shop", "db-1")},
          {},
          nullptr};
}

using CaseFactory = GoldenCase (*)();

const std::vector<std::pair<std::string, CaseFactory>>& registry() {
  static const std::vector<std::pair<std::string, CaseFactory>> cases = {
      {"bookinfo_local", bookinfoLocal},
      {"header_match", headerMatch},
      {"destination_policy", destinationPolicy},
      {"resilience", resilience},
      {"redirect_mode", redirectMode},
      {"visibility_namespace",
       [] {
         return visibility("visibility_namespace",
                           "default visibility: own namespace, TrafficRoute destinations and "
                           "what their routes send to",
                           "");
       }},
      {"visibility_also_namespaces",
       [] {
         return visibility("visibility_also_namespaces",
                           "visibility.alsoNamespaces adds a shared namespace",
                           "visibility: {alsoNamespaces: [platform]}\n");
       }},
      {"visibility_mesh",
       [] {
         return visibility("visibility_mesh", "visibility.mode MESH: every service",
                           "visibility: {mode: MESH}\n");
       }},
      {"missing_service", missingService},
      {"peer_authentication", peerAuthentication},
      {"authorization", authorization},
      {"without_certificate_authority", withoutCertificateAuthority},
      {"access_logging", accessLogging},
  };
  return cases;
}

}  // namespace

std::shared_ptr<const std::string> testTrustBundle() {
  static const auto bundle = std::make_shared<const std::string>(
      "-----BEGIN CERTIFICATE-----\nMIIBtest-root\n-----END CERTIFICATE-----\n");
  return bundle;
}

std::vector<std::string> goldenCaseNames() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry()) {
    names.push_back(name);
  }
  return names;
}

GoldenCase goldenCase(const std::string& name) {
  for (const auto& [candidate, factory] : registry()) {
    if (candidate == name) {
      return factory();
    }
  }
  return {};
}

}  // namespace weft::controlplane::testing
