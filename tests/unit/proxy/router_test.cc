// Routing decisions built from real bootstrap YAML through the snapshot
// builder: match conditions, header mutations, rewrites, redirects, and the
// per-worker load balancers wired in by decideRoute.
#include <gtest/gtest.h>

#include <tuple>

#include <map>
#include <set>

#include "common/config/yaml_to_proto.h"
#include "proxy/http1/beast_header_lookup.h"
#include "proxy/http2/header_list_lookup.h"
#include "proxy/router/route_decision.h"
#include "proxy/snapshot/snapshot_builder.h"

namespace weft::proxy {
namespace {

// A bootstrap with one HTTP listener whose virtual hosts are `vhosts_yaml`
// (indented as the list under virtual_hosts) and the clusters `clusters_yaml`.
std::string bootstrapText(const std::string& vhosts_yaml, const std::string& clusters_yaml,
                          const std::string& table_extra = "") {
  return R"(node: {id: test}
static_resources:
  listeners:
    - name: main
      address: {address: 127.0.0.1, port: 1}
      filter_chains:
        - name: http
          http:
            stat_prefix: test
            route_config:
              name: routes
)" + table_extra +
         R"(              virtual_hosts:
)" + vhosts_yaml +
         R"(  clusters:
)" + clusters_yaml;
}

std::string cluster(const std::string& name, const std::vector<int>& ports,
                    const std::string& extra = "") {
  std::string text = "    - name: " + name + "\n" + extra + "      load_assignment:\n" +
                     "        endpoints:\n          - lb_endpoints:\n";
  for (int port : ports) {
    text +=
        "              - endpoint: {address: {address: 127.0.0.1, port: " + std::to_string(port) +
        "}}\n";
  }
  return text;
}

SnapshotPtr build(const std::string& text, config::ConfigErrors& errors) {
  weft::v1::Bootstrap bootstrap;
  errors = config::loadYaml(text, "test.yaml", bootstrap);
  if (!errors.empty()) {
    return nullptr;
  }
  return buildSnapshot(bootstrap, "test.yaml", errors, 2);
}

SnapshotPtr mustBuild(const std::string& text) {
  config::ConfigErrors errors;
  SnapshotPtr snapshot = build(text, errors);
  EXPECT_TRUE(snapshot) << config::formatErrors(errors);
  return snapshot;
}

std::string firstError(const std::string& text) {
  config::ConfigErrors errors;
  SnapshotPtr snapshot = build(text, errors);
  EXPECT_FALSE(snapshot);
  return errors.empty() ? "" : errors.front().field_path + ": " + errors.front().reason;
}

const HttpChainConfig& chainOf(const SnapshotPtr& snapshot) {
  return *snapshot->listeners.front().chains.front().http;
}

// A request for decideRoute: HTTP/1-style fields.
struct TestRequest {
  std::string method = "GET";
  std::string authority = "svc";
  std::string target = "/";
  boost::beast::http::fields fields;
  boost::asio::ip::address source = boost::asio::ip::make_address("127.0.0.1");

  RouteDecision route(const SnapshotPtr& snapshot, uint64_t& cursor, uint32_t worker = 0) {
    BeastHeaderLookup lookup(fields);
    RequestView view{method, "http", authority, target, &lookup, source};
    return decideRoute(chainOf(snapshot), view, worker, cursor);
  }
};

std::string routeName(const SnapshotPtr& snapshot, TestRequest request) {
  uint64_t cursor = 0;
  RouteDecision decision = request.route(snapshot, cursor);
  return decision.route != nullptr ? decision.route->name : "<none>";
}

const std::string kOneCluster = cluster("backend", {8080});

TEST(RouterTest, HeaderQueryAndMethodConditions) {
  const std::string vhosts = R"(                - name: svc
                  domains: ["svc"]
                  routes:
                    - name: canary-header
                      match:
                        prefix: /
                        headers: [{name: X-Canary, exact: "yes"}]
                      route: {cluster: backend}
                    - name: no-debug-regex-user
                      match:
                        prefix: /
                        headers:
                          - {name: x-user, regex: "u[0-9]+"}
                          - {name: x-debug, present: false}
                      route: {cluster: backend}
                    - name: version-range
                      match:
                        prefix: /
                        headers: [{name: x-version, range: {start: 2, end: 5}}]
                      route: {cluster: backend}
                    - name: query
                      match:
                        prefix: /
                        query_parameters:
                          - {name: "a b", exact: "C", ignore_case: true}
                      route: {cluster: backend}
                    - name: query-present
                      match:
                        prefix: /
                        query_parameters: [{name: flag, present: true}]
                      route: {cluster: backend}
                    - name: writes
                      match: {prefix: /, methods: [POST, PUT]}
                      route: {cluster: backend}
                    - name: inverted
                      match:
                        prefix: /
                        headers: [{name: ":method", exact: GET, invert: true}]
                      route: {cluster: backend}
                    - name: fallback
                      match: {prefix: /}
                      route: {cluster: backend}
)";
  SnapshotPtr snapshot = mustBuild(bootstrapText(vhosts, kOneCluster));
  ASSERT_TRUE(snapshot);

  TestRequest plain;
  EXPECT_EQ(routeName(snapshot, plain), "fallback");

  TestRequest canary;
  canary.fields.insert("x-canary", "yes");
  EXPECT_EQ(routeName(snapshot, canary), "canary-header");
  canary.fields.set("x-canary", "YES");  // exact is case-sensitive without ignore_case
  EXPECT_EQ(routeName(snapshot, canary), "fallback");

  TestRequest user;
  user.fields.insert("x-user", "u42");
  EXPECT_EQ(routeName(snapshot, user), "no-debug-regex-user");
  user.fields.insert("x-debug", "");  // present, even empty: the absent condition fails
  EXPECT_EQ(routeName(snapshot, user), "fallback");
  TestRequest partial;
  partial.fields.insert("x-user", "u42x");  // regex must match the whole value
  EXPECT_EQ(routeName(snapshot, partial), "fallback");

  for (auto [value, expected] : std::map<std::string, std::string>{{"1", "fallback"},
                                                                   {"2", "version-range"},
                                                                   {"4", "version-range"},
                                                                   {"5", "fallback"},
                                                                   {"3x", "fallback"},
                                                                   {"", "fallback"}}) {
    TestRequest versioned;
    versioned.fields.insert("x-version", value);
    EXPECT_EQ(routeName(snapshot, versioned), expected) << value;
  }

  TestRequest query;
  query.target = "/p?z=1&a%20b=c&x";  // names and values compared percent-decoded
  EXPECT_EQ(routeName(snapshot, query), "query");
  query.target = "/p?a%20b=d&a%20b=C";  // any occurrence may match
  EXPECT_EQ(routeName(snapshot, query), "query");
  query.target = "/p?ab=c";
  EXPECT_EQ(routeName(snapshot, query), "fallback");
  query.target = "/p?flag";
  EXPECT_EQ(routeName(snapshot, query), "query-present");

  TestRequest post;
  post.method = "POST";
  EXPECT_EQ(routeName(snapshot, post), "writes");
  TestRequest remove;
  remove.method = "DELETE";
  EXPECT_EQ(routeName(snapshot, remove), "inverted");
}

TEST(RouterTest, RepeatedHeadersJoinForMatching) {
  const std::string vhosts = R"(                - name: svc
                  domains: ["*"]
                  routes:
                    - name: joined
                      match:
                        prefix: /
                        headers: [{name: x-tags, exact: "a, b"}]
                      route: {cluster: backend}
                    - name: fallback
                      match: {prefix: /}
                      route: {cluster: backend}
)";
  SnapshotPtr snapshot = mustBuild(bootstrapText(vhosts, kOneCluster));
  ASSERT_TRUE(snapshot);
  TestRequest request;
  request.fields.insert("x-tags", "a");
  request.fields.insert("X-Tags", "b");
  EXPECT_EQ(routeName(snapshot, request), "joined");

  // The HTTP/2 field list joins the same way.
  HeaderList fields{{"x-tags", "a"}, {"x-tags", "b"}, {"cookie", "k=1"}, {"cookie", "j=2"}};
  HeaderListLookup lookup(fields);
  std::string scratch;
  std::string_view value;
  ASSERT_TRUE(lookup.find("x-tags", scratch, value));
  EXPECT_EQ(value, "a, b");
  ASSERT_TRUE(lookup.find("cookie", scratch, value));
  EXPECT_EQ(value, "k=1; j=2");
  EXPECT_FALSE(lookup.find("x-none", scratch, value));
}

TEST(RouterTest, HeaderMutationsApplyOutermostFirst) {
  const std::string table_extra = R"(              request_headers:
                set: [{name: x-level, value: table}, {name: x-table, value: "1"}]
              response_headers:
                append: [{name: x-resp, value: table}]
)";
  const std::string vhosts = R"(                - name: svc
                  domains: ["*"]
                  request_headers:
                    set: [{name: x-level, value: vhost}]
                    remove: [x-secret]
                  routes:
                    - name: r
                      match: {prefix: /}
                      request_headers:
                        set: [{name: X-Level, value: route}]
                        append: [{name: x-added, value: "1"}]
                      response_headers:
                        remove: [server]
                        append: [{name: x-resp, value: route}]
                      route:
                        weighted_clusters:
                          clusters:
                            - name: backend
                              weight: 1
                              request_headers:
                                append: [{name: x-added, value: "2"}]
)";
  SnapshotPtr snapshot = mustBuild(bootstrapText(vhosts, kOneCluster, table_extra));
  ASSERT_TRUE(snapshot);
  TestRequest request;
  request.fields.insert("x-secret", "s");
  request.fields.insert("x-added", "0");
  uint64_t cursor = 0;
  RouteDecision decision = request.route(snapshot, cursor);
  ASSERT_EQ(decision.kind, RouteDecision::Kind::kForward);

  boost::beast::http::fields forwarded = request.fields;
  decision.request_mutations.apply(forwarded);
  EXPECT_EQ(forwarded["x-level"], "route");
  EXPECT_EQ(forwarded["x-table"], "1");
  EXPECT_EQ(forwarded.count("x-secret"), 0u);
  std::vector<std::string> added;
  for (auto it = forwarded.find("x-added"); it != forwarded.end() && it->name_string() == "x-added";
       ++it) {
    added.emplace_back(it->value());
  }
  EXPECT_EQ(added, (std::vector<std::string>{"0", "1", "2"}));

  HeaderList response{{":status", "200"}, {"server", "app"}, {"x-resp", "app"}};
  decision.response_mutations.apply(response);
  EXPECT_EQ(response,
            (HeaderList{
                {":status", "200"}, {"x-resp", "app"}, {"x-resp", "table"}, {"x-resp", "route"}}));
}

TEST(RouterTest, RewritesKeepTheQuery) {
  const std::string vhosts = R"YAML(                - name: svc
                  domains: ["*"]
                  routes:
                    - name: prefix
                      match: {prefix: /api}
                      route: {cluster: backend, prefix_rewrite: /v1}
                    - name: root
                      match: {path_separated_prefix: /root}
                      route: {cluster: backend, prefix_rewrite: /}
                    - name: regex
                      match: {prefix: /users}
                      route:
                        cluster: backend
                        host_rewrite: internal.svc
                        regex_rewrite: {pattern: "/users/([0-9]+)", substitution: "/u/\\1/profile"}
)YAML";
  SnapshotPtr snapshot = mustBuild(bootstrapText(vhosts, kOneCluster));
  ASSERT_TRUE(snapshot);
  const auto& routes = snapshot->route_tables.begin()->second->virtual_hosts.front().routes;
  std::string out;
  ASSERT_TRUE(rewriteTarget(routes[0], "/api/users?x=1", out));
  EXPECT_EQ(out, "/v1/users?x=1");
  ASSERT_TRUE(rewriteTarget(routes[1], "/root/a", out));
  EXPECT_EQ(out, "/a");
  ASSERT_TRUE(rewriteTarget(routes[1], "/root", out));
  EXPECT_EQ(out, "/");
  ASSERT_TRUE(rewriteTarget(routes[2], "/users/42?full=1", out));
  EXPECT_EQ(out, "/u/42/profile?full=1");
  EXPECT_EQ(routes[2].host_rewrite, "internal.svc");
}

TEST(RouterTest, RedirectsBuildTheLocation) {
  const std::string vhosts = R"(                - name: svc
                  domains: ["*"]
                  routes:
                    - name: https
                      match: {prefix: /secure}
                      redirect: {scheme_redirect: https}
                    - name: moved
                      match: {prefix: /old}
                      redirect:
                        host_redirect: new.example
                        port_redirect: 8443
                        prefix_rewrite: /new
                        response_code: PERMANENT_REDIRECT
                    - name: fixed
                      match: {prefix: /fixed}
                      redirect: {path_redirect: /landing, strip_query: true, response_code: FOUND}
)";
  SnapshotPtr snapshot = mustBuild(bootstrapText(vhosts, kOneCluster));
  ASSERT_TRUE(snapshot);
  uint64_t cursor = 0;
  TestRequest request;
  request.authority = "shop.example";
  request.target = "/secure/cart?id=7";
  RouteDecision decision = request.route(snapshot, cursor);
  EXPECT_EQ(decision.kind, RouteDecision::Kind::kLocalReply);
  EXPECT_EQ(decision.status, 301u);
  EXPECT_EQ(decision.location, "https://shop.example/secure/cart?id=7");
  LocalResponse reply = makeDecisionReply(decision, 11, true, false);
  EXPECT_EQ(reply.result_int(), 301u);
  EXPECT_EQ(reply[boost::beast::http::field::location], "https://shop.example/secure/cart?id=7");
  EXPECT_EQ(reply.count("x-weft-reason"), 0u);  // configured, not a failure

  request.authority = "shop.example:8080";
  request.target = "/old/item";
  decision = request.route(snapshot, cursor);
  EXPECT_EQ(decision.status, 308u);
  EXPECT_EQ(decision.location, "http://new.example:8443/new/item");

  request.target = "/fixed/x?y=1";
  decision = request.route(snapshot, cursor);
  EXPECT_EQ(decision.status, 302u);
  EXPECT_EQ(decision.location, "http://shop.example:8080/landing");
}

TEST(RouterTest, RingHashKeepsAKeyOnOneHost) {
  const std::string vhosts = R"(                - name: svc
                  domains: ["*"]
                  routes:
                    - name: sticky
                      match: {prefix: /}
                      route:
                        cluster: backend
                        hash_policy:
                          - header: {name: x-user}
                            terminal: true
                          - source_ip: true
)";
  for (const char* policy : {"RING_HASH", "MAGLEV"}) {
    SnapshotPtr snapshot =
        mustBuild(bootstrapText(vhosts, cluster("backend", {8001, 8002, 8003, 8004, 8005},
                                                std::string("      lb_policy: ") + policy + "\n")));
    ASSERT_TRUE(snapshot);
    uint64_t cursor = 0;
    std::set<uint16_t> users_hosts;
    for (int user = 0; user < 64; ++user) {
      TestRequest request;
      request.fields.insert("x-user", "user-" + std::to_string(user));
      const uint16_t first = request.route(snapshot, cursor, 0).host->address().port();
      for (int again = 0; again < 5; ++again) {
        // Every worker maps the key to the same host.
        EXPECT_EQ(request.route(snapshot, cursor, again % 2).host->address().port(), first)
            << policy;
      }
      users_hosts.insert(first);
    }
    EXPECT_GT(users_hosts.size(), 2u) << policy << ": keys spread over the hosts";

    // Without the header the source IP decides: one host per address.
    TestRequest anonymous;
    const uint16_t by_ip = anonymous.route(snapshot, cursor).host->address().port();
    for (int again = 0; again < 5; ++again) {
      EXPECT_EQ(anonymous.route(snapshot, cursor).host->address().port(), by_ip);
    }
  }
}

TEST(RouterTest, GeneratedAffinityCookie) {
  const std::string vhosts = R"(                - name: svc
                  domains: ["*"]
                  routes:
                    - name: sticky
                      match: {prefix: /}
                      route:
                        cluster: backend
                        hash_policy: [{cookie: {name: session, ttl: 3600s, path: /app}}]
)";
  SnapshotPtr snapshot = mustBuild(bootstrapText(
      vhosts, cluster("backend", {8001, 8002, 8003}, "      lb_policy: RING_HASH\n")));
  ASSERT_TRUE(snapshot);
  uint64_t cursor = 0;
  TestRequest first;
  RouteDecision decision = first.route(snapshot, cursor);
  ASSERT_EQ(decision.kind, RouteDecision::Kind::kForward);
  ASSERT_FALSE(decision.set_cookie.empty());
  EXPECT_NE(decision.set_cookie.find("; Path=/app; Max-Age=3600; HttpOnly"), std::string::npos)
      << decision.set_cookie;
  // The client returns the cookie: from then on it sticks to one host, and the
  // proxy sets no new cookie.
  const std::string cookie = decision.set_cookie.substr(0, decision.set_cookie.find(';'));
  TestRequest returning;
  returning.fields.insert("cookie", "other=1; " + cookie);
  const RouteDecision again = returning.route(snapshot, cursor);
  EXPECT_TRUE(again.set_cookie.empty());
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(returning.route(snapshot, cursor).host, again.host);
  }
}

TEST(RouterTest, UnhealthyEndpointsAndPriorityFailover) {
  const std::string clusters = R"(    - name: backend
      load_assignment:
        endpoints:
          - priority: 0
            lb_endpoints:
              - endpoint: {address: {address: 127.0.0.1, port: 8001}}
                health_status: UNHEALTHY
              - endpoint: {address: {address: 127.0.0.1, port: 8002}}
                health_status: DRAINING
          - priority: 1
            lb_endpoints:
              - endpoint: {address: {address: 127.0.0.1, port: 9001}}
    - name: empty
      load_assignment: {}
)";
  const std::string vhosts = R"(                - name: svc
                  domains: ["*"]
                  routes:
                    - match: {prefix: /empty}
                      route: {cluster: empty}
                    - match: {prefix: /}
                      route: {cluster: backend}
)";
  SnapshotPtr snapshot = mustBuild(bootstrapText(vhosts, clusters));
  ASSERT_TRUE(snapshot);
  uint64_t cursor = 0;
  TestRequest request;
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(request.route(snapshot, cursor).host->address().port(), 9001);
  }
  request.target = "/empty";
  const RouteDecision decision = request.route(snapshot, cursor);
  EXPECT_EQ(decision.kind, RouteDecision::Kind::kLocalReply);
  EXPECT_EQ(decision.status, 503u);
  EXPECT_EQ(decision.local_reason, LocalReplyReason::kNoHealthyUpstream);
}

TEST(RouterTest, LeastRequestAvoidsBusyHosts) {
  const std::string vhosts = R"(                - name: svc
                  domains: ["*"]
                  routes:
                    - match: {prefix: /}
                      route: {cluster: backend}
)";
  SnapshotPtr snapshot = mustBuild(bootstrapText(
      vhosts, cluster("backend", {8001, 8002},
                      "      lb_policy: LEAST_REQUEST\n      least_request: {choice_count: 5}\n")));
  ASSERT_TRUE(snapshot);
  uint64_t cursor = 0;
  TestRequest request;
  // Hold many requests on whichever host comes first; new requests go to the other.
  RouteDecision first = request.route(snapshot, cursor);
  std::vector<ActiveRequest> busy;
  for (int i = 0; i < 10; ++i) {
    busy.emplace_back(first.host);
  }
  std::map<uint16_t, int> picks;
  for (int i = 0; i < 200; ++i) {
    ++picks[request.route(snapshot, cursor).host->address().port()];
  }
  // Five draws: the busy host wins only when all five land on it (1 in 32).
  EXPECT_GT(picks[first.host->address().port() == 8001 ? 8002 : 8001], 170);
  busy.clear();
  EXPECT_EQ(first.host->activeRequests(), 0u);
}

TEST(RouterTest, WorkersHaveTheirOwnHostState) {
  const std::string vhosts = R"(                - name: svc
                  domains: ["*"]
                  routes:
                    - match: {prefix: /}
                      route: {cluster: backend}
)";
  SnapshotPtr snapshot = mustBuild(bootstrapText(vhosts, kOneCluster));
  ASSERT_TRUE(snapshot);
  uint64_t cursor = 0;
  TestRequest request;
  lb::Host* worker0 = request.route(snapshot, cursor, 0).host;
  lb::Host* worker1 = request.route(snapshot, cursor, 1).host;
  EXPECT_NE(worker0, worker1);
  EXPECT_EQ(worker0->address(), worker1->address());
}

TEST(RouterTest, ConnectionLimitIsSharedOutAmongWorkers) {
  const std::string vhosts = R"(                - name: svc
                  domains: ["*"]
                  routes:
                    - match: {prefix: /}
                      route: {cluster: limited}
)";
  // Two workers (build() makes the snapshot for two).
  for (const auto& [limit, first, second] :
       std::vector<std::tuple<int, uint32_t, uint32_t>>{{5, 3, 2}, {4, 2, 2}, {1, 1, 1}}) {
    SnapshotPtr snapshot = mustBuild(
        bootstrapText(vhosts, cluster("limited", {8080, 8081},
                                      "      connection_pool: {max_connections_per_host: " +
                                          std::to_string(limit) + "}\n")));
    ASSERT_TRUE(snapshot);
    const ClusterConfig& limited = *snapshot->clusters.at("limited");
    EXPECT_EQ(limited.connectionLimitShare(0), first) << limit;
    EXPECT_EQ(limited.connectionLimitShare(1), second) << limit;
    // One line per worker and host, made once.
    auto host0 = limited.connectionLimit(0, 0);
    ASSERT_NE(host0, nullptr);
    EXPECT_EQ(host0->limit(), first);
    EXPECT_EQ(limited.connectionLimit(0, 0), host0);
    EXPECT_NE(limited.connectionLimit(0, 1), host0);
    EXPECT_NE(limited.connectionLimit(1, 0), host0);
  }
  SnapshotPtr unlimited = mustBuild(bootstrapText(vhosts, cluster("limited", {8080})));
  EXPECT_EQ(unlimited->clusters.at("limited")->connectionLimit(0, 0), nullptr);
}

TEST(RouterTest, BuilderRejectsWhatItCannotServe) {
  const std::string route_with = R"(                - name: svc
                  domains: ["*"]
                  routes:
                    - match: {prefix: /}
                      route: {cluster: backend, %s}
)";
  auto with = [&](const std::string& field) {
    std::string text = route_with;
    text.replace(text.find("%s"), 2, field);
    return bootstrapText(text, kOneCluster);
  };
  EXPECT_NE(firstError(with("request_mirror_policies: [{cluster: nowhere}]"))
                .find("request_mirror_policies[0].cluster"),
            std::string::npos);
  const std::string bad_mutation = R"(                - name: svc
                  domains: ["*"]
                  request_headers:
                    set: [{name: Transfer-Encoding, value: chunked}]
                  routes:
                    - match: {prefix: /}
                      route: {cluster: backend}
)";
  EXPECT_NE(firstError(bootstrapText(bad_mutation, kOneCluster)).find("connection-specific"),
            std::string::npos);
  const std::string bad_regex = R"(                - name: svc
                  domains: ["*"]
                  routes:
                    - match:
                        prefix: /
                        headers: [{name: x, regex: "("}]
                      route: {cluster: backend}
)";
  EXPECT_NE(firstError(bootstrapText(bad_regex, kOneCluster)).find("headers[0].regex"),
            std::string::npos);
  EXPECT_NE(firstError(bootstrapText(R"(                - name: svc
                  domains: ["*"]
                  routes:
                    - match: {prefix: /}
                      route: {cluster: backend}
)",
                                     cluster("backend", {1}, "      ring_hash: {}\n")))
                .find("ring_hash: settings for another policy than lb_policy ROUND_ROBIN"),
            std::string::npos);
}

}  // namespace
}  // namespace weft::proxy
