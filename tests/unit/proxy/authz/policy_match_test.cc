// Each field of Source, Destination and Condition, and its not_ variant, on one policy.
#include <gtest/gtest.h>

#include <boost/beast/http/fields.hpp>

#include "proxy/authz/compiled_policy.h"
#include "proxy/http1/beast_header_lookup.h"
#include "tests/unit/proxy/authz/authz_test_support.h"

namespace weft::proxy::authz {
namespace {

using testing::compilePolicy;
using testing::TestRequest;

// An ALLOW policy with one rule made of `rule_body`.
CompiledAuthorizationPolicyPtr rule(const std::string& rule_body) {
  return compilePolicy("name: \"p\" rules { " + rule_body + " }");
}

TEST(PolicyMatchTest, Principals) {
  const auto policy = rule(R"(from { principals: "spiffe://cluster.local/ns/default/sa/productpage"
                                     principals: "spiffe://other/*" })");
  TestRequest request;
  EXPECT_TRUE(request.matches(*policy));
  request.principal = "spiffe://other/ns/x/sa/y";
  EXPECT_TRUE(request.matches(*policy));
  request.principal = "spiffe://cluster.local/ns/default/sa/reviews";
  EXPECT_FALSE(request.matches(*policy));
  request.principal = "";
  EXPECT_FALSE(request.matches(*policy));
}

TEST(PolicyMatchTest, AnyPrincipalMeansAnyAuthenticatedPeer) {
  const auto policy = rule(R"(from { principals: "*" })");
  TestRequest request;
  EXPECT_TRUE(request.matches(*policy));
  request.principal = "";
  EXPECT_FALSE(request.matches(*policy));
}

TEST(PolicyMatchTest, NotPrincipals) {
  const auto policy = rule(R"(from { not_principals: "*/sa/productpage" })");
  TestRequest request;
  EXPECT_FALSE(request.matches(*policy));
  request.principal = "spiffe://cluster.local/ns/default/sa/reviews";
  EXPECT_TRUE(request.matches(*policy));
  request.principal = "";  // matches no value, so none of them
  EXPECT_TRUE(request.matches(*policy));
  // not_principals: ["*"] is "unauthenticated peers only".
  const auto plaintext_only = rule(R"(from { not_principals: "*" })");
  EXPECT_TRUE(request.matches(*plaintext_only));
  request.principal = "spiffe://cluster.local/ns/default/sa/reviews";
  EXPECT_FALSE(request.matches(*plaintext_only));
}

TEST(PolicyMatchTest, Namespaces) {
  const auto policy = rule(R"(from { namespaces: "default" namespaces: "team-*" })");
  TestRequest request;
  EXPECT_TRUE(request.matches(*policy));
  request.principal = "spiffe://cluster.local/ns/team-blue/sa/x";
  EXPECT_TRUE(request.matches(*policy));
  request.principal = "spiffe://cluster.local/ns/prod/sa/x";
  EXPECT_FALSE(request.matches(*policy));
  request.principal = "";  // plaintext: no namespace
  EXPECT_FALSE(request.matches(*policy));
  const auto any_namespace = rule(R"(from { namespaces: "*" })");
  EXPECT_FALSE(request.matches(*any_namespace));
  request.principal = "spiffe://cluster.local/sa/no-namespace";
  EXPECT_FALSE(request.matches(*any_namespace));
}

TEST(PolicyMatchTest, NotNamespaces) {
  const auto policy = rule(R"(from { not_namespaces: "kube-*" })");
  TestRequest request;
  EXPECT_TRUE(request.matches(*policy));
  request.principal = "spiffe://cluster.local/ns/kube-system/sa/x";
  EXPECT_FALSE(request.matches(*policy));
  request.principal = "";
  EXPECT_TRUE(request.matches(*policy));
}

TEST(PolicyMatchTest, IpBlocks) {
  const auto policy = rule(R"(from { ip_blocks: "10.1.0.0/16" ip_blocks: "fd00::/8" })");
  TestRequest request;
  EXPECT_TRUE(request.matches(*policy));
  request.source_ip = "fd12::1";
  EXPECT_TRUE(request.matches(*policy));
  request.source_ip = "10.2.0.1";
  EXPECT_FALSE(request.matches(*policy));
  request.source_ip = "::ffff:10.1.9.9";
  EXPECT_TRUE(request.matches(*policy));
  // The destination address is not the source.
  request.source_ip = "192.168.0.1";
  request.destination_ip = "10.1.0.1";
  EXPECT_FALSE(request.matches(*policy));
}

TEST(PolicyMatchTest, NotIpBlocks) {
  const auto policy = rule(R"(from { not_ip_blocks: "10.1.2.3" })");
  TestRequest request;
  EXPECT_FALSE(request.matches(*policy));
  request.source_ip = "10.1.2.4";
  EXPECT_TRUE(request.matches(*policy));
}

TEST(PolicyMatchTest, SourceFieldsMustAllMatch) {
  const auto policy = rule(R"(from { namespaces: "default" ip_blocks: "10.0.0.0/8"
                                     not_principals: "*/sa/admin" })");
  TestRequest request;
  EXPECT_TRUE(request.matches(*policy));
  request.source_ip = "192.168.1.1";
  EXPECT_FALSE(request.matches(*policy));
  request.source_ip = "10.0.0.1";
  request.principal = "spiffe://cluster.local/ns/default/sa/admin";
  EXPECT_FALSE(request.matches(*policy));
}

TEST(PolicyMatchTest, Hosts) {
  const auto policy = rule(R"(to { hosts: "Reviews" hosts: "*.example.com" })");
  TestRequest request;
  EXPECT_TRUE(request.matches(*policy));  // "reviews:8080"
  request.authority = "REVIEWS";
  EXPECT_TRUE(request.matches(*policy));
  request.authority = "api.example.com:443";
  EXPECT_TRUE(request.matches(*policy));
  request.authority = "ratings:8080";
  EXPECT_FALSE(request.matches(*policy));
  request.authority = "";
  EXPECT_FALSE(request.matches(*policy));
  const auto with_port = rule(R"(to { hosts: "reviews:9080" })");
  request.authority = "reviews:8080";
  EXPECT_FALSE(request.matches(*with_port));
  request.authority = "Reviews:9080";
  EXPECT_TRUE(request.matches(*with_port));
}

TEST(PolicyMatchTest, NotHosts) {
  const auto policy = rule(R"(to { not_hosts: "admin.example.com" })");
  TestRequest request;
  EXPECT_TRUE(request.matches(*policy));
  request.authority = "ADMIN.example.com:8443";
  EXPECT_FALSE(request.matches(*policy));
}

TEST(PolicyMatchTest, Ports) {
  const auto policy = rule(R"(to { ports: 9080 ports: 8080 })");
  TestRequest request;
  EXPECT_TRUE(request.matches(*policy));
  request.destination_port = 9090;
  EXPECT_FALSE(request.matches(*policy));
  // The port of the authority is not the destination port.
  request.authority = "reviews:8080";
  EXPECT_FALSE(request.matches(*policy));
}

TEST(PolicyMatchTest, NotPorts) {
  const auto policy = rule(R"(to { not_ports: 8080 })");
  TestRequest request;
  EXPECT_FALSE(request.matches(*policy));
  request.destination_port = 15000;
  EXPECT_TRUE(request.matches(*policy));
}

TEST(PolicyMatchTest, MethodsAreExactAndCaseSensitive) {
  const auto policy = rule(R"(to { methods: "GET" methods: "HEAD" })");
  TestRequest request;
  EXPECT_TRUE(request.matches(*policy));
  request.method = "HEAD";
  EXPECT_TRUE(request.matches(*policy));
  request.method = "get";
  EXPECT_FALSE(request.matches(*policy));
  request.method = "GETX";
  EXPECT_FALSE(request.matches(*policy));
}

TEST(PolicyMatchTest, NotMethods) {
  const auto policy = rule(R"(to { not_methods: "DELETE" })");
  TestRequest request;
  EXPECT_TRUE(request.matches(*policy));
  request.method = "DELETE";
  EXPECT_FALSE(request.matches(*policy));
}

TEST(PolicyMatchTest, PathPatterns) {
  const auto policy = rule(R"(to { paths: "/api/*" paths: "*.json" paths: "/healthz" })");
  TestRequest request;
  for (const char* path : {"/api/v1/items", "/api/", "/static/a.json", "/healthz", "/healthz/"}) {
    request.path = path;
    EXPECT_TRUE(request.matches(*policy)) << path;
  }
  for (const char* path : {"/api", "/Api/x", "/a.json5", "/healthz/x", "/healthzz", "/"}) {
    request.path = path;
    EXPECT_FALSE(request.matches(*policy)) << path;
  }
}

TEST(PolicyMatchTest, NotPathsFollowTheTrailingSlashRuleToo) {
  const auto policy = rule(R"(to { not_paths: "/admin" })");
  TestRequest request;
  EXPECT_TRUE(request.matches(*policy));
  request.path = "/admin";
  EXPECT_FALSE(request.matches(*policy));
  request.path = "/admin/";
  EXPECT_FALSE(request.matches(*policy));
  request.path = "/admin/users";
  EXPECT_TRUE(request.matches(*policy));
}

TEST(PolicyMatchTest, DestinationFieldsMustAllMatch) {
  const auto policy = rule(R"(to { methods: "POST" paths: "/api/*" ports: 8080 })");
  TestRequest request;
  request.method = "POST";
  EXPECT_TRUE(request.matches(*policy));
  request.path = "/other";
  EXPECT_FALSE(request.matches(*policy));
  request.path = "/api/x";
  request.method = "GET";
  EXPECT_FALSE(request.matches(*policy));
}

TEST(PolicyMatchTest, RequestHeaderCondition) {
  const auto policy =
      rule(R"(when { key: "request.headers[X-Tenant]" values: "blue" values: "gr*" })");
  TestRequest request;
  EXPECT_TRUE(request.matches(*policy));  // the key's header name is case-insensitive
  request.headers = {{"x-tenant", "green"}};
  EXPECT_TRUE(request.matches(*policy));
  request.headers = {{"x-tenant", "red"}};
  EXPECT_FALSE(request.matches(*policy));
  request.headers = {};  // absent: matches no value
  EXPECT_FALSE(request.matches(*policy));
}

TEST(PolicyMatchTest, RequestHeaderConditionNotValues) {
  const auto policy = rule(R"(when { key: "request.headers[x-tenant]" not_values: "red" })");
  TestRequest request;
  EXPECT_TRUE(request.matches(*policy));
  request.headers = {{"x-tenant", "red"}};
  EXPECT_FALSE(request.matches(*policy));
  request.headers = {};  // absent: matches none of the not_values
  EXPECT_TRUE(request.matches(*policy));
  // Present and empty is a value, which "" names and "*" does not.
  const auto empty = rule(R"(when { key: "request.headers[x-debug]" values: "" })");
  const auto any = rule(R"(when { key: "request.headers[x-debug]" values: "*" })");
  request.headers = {{"x-debug", ""}};
  EXPECT_TRUE(request.matches(*empty));
  EXPECT_FALSE(request.matches(*any));
  // An absent header is not an empty one: it matches no value, "" included.
  const auto not_empty = rule(R"(when { key: "request.headers[x-debug]" not_values: "" })");
  EXPECT_FALSE(request.matches(*not_empty));
  request.headers = {};
  EXPECT_TRUE(request.matches(*not_empty));
  EXPECT_FALSE(request.matches(*empty));
}

TEST(PolicyMatchTest, RepeatedHeaderFieldsAreJoinedWithCommas) {
  const auto policy = rule(R"(when { key: "request.headers[x-role]" values: "*, admin" })");
  TestRequest request;
  request.headers = {{"x-role", "viewer"}, {"x-role", "admin"}};
  EXPECT_TRUE(request.matches(*policy));
}

TEST(PolicyMatchTest, Http1HeaderLookupServesConditionsToo) {
  const auto policy = rule(R"(when { key: "request.headers[x-tenant]" values: "blue" })");
  boost::beast::http::fields fields;
  fields.insert("X-Tenant", "blue");
  const BeastHeaderLookup lookup(fields);
  const TestRequest values;
  const ConnectionAttributes connection = values.connection();
  const HttpRequestAttributes request{
      .method = "GET", .authority = "reviews", .path = "/", .headers = &lookup};
  std::string scratch;
  EXPECT_TRUE(policy->matches(MatchInput(connection, &request, &scratch)));
}

TEST(PolicyMatchTest, SourceConditions) {
  TestRequest request;
  EXPECT_TRUE(request.matches(*rule(R"(when { key: "source.ip" values: "10.1.0.0/16" })")));
  EXPECT_FALSE(request.matches(*rule(R"(when { key: "source.ip" not_values: "10.1.2.3" })")));
  EXPECT_TRUE(request.matches(
      *rule(R"(when { key: "source.principal" values: "spiffe://cluster.local/*" })")));
  EXPECT_FALSE(
      request.matches(*rule(R"(when { key: "source.principal" not_values: "*/sa/productpage" })")));
  EXPECT_TRUE(request.matches(*rule(R"(when { key: "source.namespace" values: "default" })")));
  EXPECT_FALSE(request.matches(*rule(R"(when { key: "source.namespace" not_values: "def*" })")));
  request.principal = "";  // missing principal and namespace: no value matches
  EXPECT_FALSE(request.matches(*rule(R"(when { key: "source.principal" values: "*" })")));
  EXPECT_TRUE(request.matches(*rule(R"(when { key: "source.principal" not_values: "*" })")));
  EXPECT_FALSE(request.matches(*rule(R"(when { key: "source.namespace" values: "*" })")));
  EXPECT_TRUE(request.matches(*rule(R"(when { key: "source.namespace" not_values: "*" })")));
}

TEST(PolicyMatchTest, DestinationAndConnectionConditions) {
  TestRequest request;
  EXPECT_TRUE(request.matches(*rule(R"(when { key: "destination.ip" values: "10.9.0.0/24" })")));
  EXPECT_FALSE(request.matches(*rule(R"(when { key: "destination.ip" values: "10.1.2.3" })")));
  EXPECT_FALSE(
      request.matches(*rule(R"(when { key: "destination.ip" not_values: "10.0.0.0/8" })")));
  EXPECT_TRUE(
      request.matches(*rule(R"(when { key: "destination.port" values: "9080" values: "8080" })")));
  EXPECT_FALSE(request.matches(*rule(R"(when { key: "destination.port" not_values: "8080" })")));
  EXPECT_TRUE(
      request.matches(*rule(R"(when { key: "connection.sni" values: "*.cluster.local" })")));
  EXPECT_TRUE(request.matches(
      *rule(R"(when { key: "connection.sni" values: "Reviews.Default.svc.cluster.local" })")));
  EXPECT_FALSE(request.matches(*rule(R"(when { key: "connection.sni" not_values: "reviews.*" })")));
  request.sni = "";
  EXPECT_FALSE(request.matches(*rule(R"(when { key: "connection.sni" values: "*" })")));
  EXPECT_TRUE(request.matches(*rule(R"(when { key: "connection.sni" not_values: "reviews.*" })")));
}

TEST(PolicyMatchTest, ValuesAndNotValuesTogether) {
  const auto policy =
      rule(R"(when { key: "source.ip" values: "10.0.0.0/8" not_values: "10.1.0.0/16" })");
  TestRequest request;
  EXPECT_FALSE(request.matches(*policy));
  request.source_ip = "10.2.0.1";
  EXPECT_TRUE(request.matches(*policy));
  request.source_ip = "11.0.0.1";
  EXPECT_FALSE(request.matches(*policy));
}

TEST(PolicyMatchTest, RuleNeedsAnyFromAnyToAndEveryWhen) {
  const auto policy = rule(R"(from { namespaces: "prod" } from { ip_blocks: "10.1.0.0/16" }
                               to { paths: "/a" } to { methods: "GET" }
                               when { key: "request.headers[x-tenant]" values: "blue" }
                               when { key: "destination.port" values: "8080" })");
  TestRequest request;
  EXPECT_TRUE(request.matches(*policy));  // second from, second to, both when
  request.source_ip = "192.168.0.1";
  EXPECT_FALSE(request.matches(*policy));  // no from entry
  request.source_ip = "10.1.0.1";
  request.method = "POST";
  EXPECT_FALSE(request.matches(*policy));  // no to entry
  request.path = "/a";
  EXPECT_TRUE(request.matches(*policy));
  request.destination_port = 9090;
  EXPECT_FALSE(request.matches(*policy));  // one when fails
}

TEST(PolicyMatchTest, PolicyMatchesWhenAnyRuleMatches) {
  const auto policy = compilePolicy(R"(name: "p" rules { to { paths: "/a" } }
                                       rules { to { paths: "/b" } })");
  TestRequest request;
  EXPECT_FALSE(request.matches(*policy));
  request.path = "/b";
  EXPECT_TRUE(request.matches(*policy));
  const auto no_rules = compilePolicy(R"(name: "p")");
  EXPECT_FALSE(request.matches(*no_rules));
  const auto empty_rule = compilePolicy(R"(name: "p" rules {})");
  EXPECT_TRUE(request.matches(*empty_rule));
}

}  // namespace
}  // namespace weft::proxy::authz
