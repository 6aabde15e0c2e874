#include "proxy/authz/string_pattern.h"

#include <gtest/gtest.h>

#include "proxy/authz/host_pattern.h"
#include "proxy/authz/principal_namespace.h"

namespace weft::proxy::authz {
namespace {

StringPattern pattern(std::string_view text, const StringPatternOptions& options = {}) {
  std::string error;
  std::optional<StringPattern> parsed = StringPattern::parse(text, options, error);
  EXPECT_TRUE(parsed.has_value()) << text << ": " << error;
  return parsed.value_or(*StringPattern::parse("*", {}, error));
}

std::string patternError(std::string_view text, const StringPatternOptions& options = {}) {
  std::string error;
  EXPECT_FALSE(StringPattern::parse(text, options, error).has_value()) << text;
  return error;
}

HostPattern host(std::string_view text) {
  std::string error;
  std::optional<HostPattern> parsed = HostPattern::parse(text, error);
  EXPECT_TRUE(parsed.has_value()) << text << ": " << error;
  return parsed.value_or(*HostPattern::parse("*", error));
}

TEST(StringPatternTest, StarAloneMatchesAnyNonEmptyValue) {
  const StringPattern any = pattern("*");
  EXPECT_EQ(any.kind(), StringPattern::Kind::kAny);
  EXPECT_TRUE(any.matches("x"));
  EXPECT_TRUE(any.matches("spiffe://cluster.local/ns/a/sa/b"));
  EXPECT_FALSE(any.matches(""));
}

TEST(StringPatternTest, ExactIsWholeAndCaseSensitive) {
  const StringPattern exact = pattern("/healthz");
  EXPECT_EQ(exact.kind(), StringPattern::Kind::kExact);
  EXPECT_TRUE(exact.matches("/healthz"));
  EXPECT_FALSE(exact.matches("/healthz2"));
  EXPECT_FALSE(exact.matches("/health"));
  EXPECT_FALSE(exact.matches("/HEALTHZ"));
  EXPECT_FALSE(exact.matches("/healthz/"));  // the trailing-slash rule is for paths only
  EXPECT_FALSE(exact.matches(""));
}

TEST(StringPatternTest, PrefixIncludesTheBareFixedPart) {
  const StringPattern prefix = pattern("/api/*");
  EXPECT_EQ(prefix.kind(), StringPattern::Kind::kPrefix);
  EXPECT_EQ(prefix.text(), "/api/");
  EXPECT_TRUE(prefix.matches("/api/"));
  EXPECT_TRUE(prefix.matches("/api/v1/items"));
  EXPECT_FALSE(prefix.matches("/api"));
  EXPECT_FALSE(prefix.matches("/apiv1"));
  EXPECT_FALSE(prefix.matches("/API/v1"));
}

TEST(StringPatternTest, SuffixIncludesTheBareFixedPart) {
  const StringPattern suffix = pattern("*.json");
  EXPECT_EQ(suffix.kind(), StringPattern::Kind::kSuffix);
  EXPECT_TRUE(suffix.matches("/a/b.json"));
  EXPECT_TRUE(suffix.matches(".json"));
  EXPECT_FALSE(suffix.matches("/a/b.json5"));
  EXPECT_FALSE(suffix.matches("json"));
}

TEST(StringPatternTest, IgnoreCaseComparesAsciiLetters) {
  const StringPatternOptions options{.ignore_case = true};
  EXPECT_TRUE(pattern("Example.COM", options).matches("example.com"));
  EXPECT_TRUE(pattern("*.Example.com", options).matches("API.EXAMPLE.COM"));
  EXPECT_TRUE(pattern("API.*", options).matches("api.example.com"));
  EXPECT_FALSE(pattern("example.com", options).matches("example.org"));
}

TEST(StringPatternTest, ExactPathAlsoMatchesOneTrailingSlash) {
  const StringPatternOptions path{.exact_allows_trailing_slash = true};
  const StringPattern admin = pattern("/admin", path);
  EXPECT_TRUE(admin.matches("/admin"));
  EXPECT_TRUE(admin.matches("/admin/"));
  EXPECT_FALSE(admin.matches("/admin//"));  // merge_slashes normalizes that one
  EXPECT_FALSE(admin.matches("/admin/x"));
  EXPECT_FALSE(admin.matches("/adminx"));
  EXPECT_FALSE(admin.matches("/admi/"));
  // A pattern that already ends in '/' is exact: "/admin/" does not match "/admin".
  const StringPattern with_slash = pattern("/admin/", path);
  EXPECT_TRUE(with_slash.matches("/admin/"));
  EXPECT_FALSE(with_slash.matches("/admin"));
  EXPECT_FALSE(with_slash.matches("/admin//"));
  EXPECT_TRUE(pattern("/", path).matches("/"));
  EXPECT_FALSE(pattern("/", path).matches("//"));
  // Prefix and suffix patterns are unchanged by the rule.
  EXPECT_FALSE(pattern("*.json", path).matches("/a.json/"));
  EXPECT_TRUE(pattern("/admin*", path).matches("/admin/"));
}

TEST(StringPatternTest, MisplacedStarsAndEmptyPatternsAreRefused) {
  EXPECT_NE(patternError("/a*b").find("'*' is allowed only alone"), std::string::npos);
  EXPECT_FALSE(patternError("**").empty());
  EXPECT_FALSE(patternError("*a*").empty());
  EXPECT_FALSE(patternError("a**").empty());
  EXPECT_NE(patternError("").find("empty pattern"), std::string::npos);
  // Where a value may be empty (header values), "" is an exact pattern.
  const StringPattern empty = pattern("", StringPatternOptions{.allow_empty = true});
  EXPECT_TRUE(empty.matches(""));
  EXPECT_FALSE(empty.matches("x"));
}

TEST(HostPatternTest, HostWithoutPortMatchesAnyPortCaseInsensitively) {
  const HostPattern reviews = host("Reviews.Default.svc");
  EXPECT_TRUE(reviews.matches("reviews.default.svc"));
  EXPECT_TRUE(reviews.matches("REVIEWS.default.svc:9080"));
  EXPECT_TRUE(reviews.matches("reviews.default.svc:"));
  EXPECT_FALSE(reviews.matches("reviews.default.svc.evil"));
  EXPECT_FALSE(reviews.matches("reviews"));
}

TEST(HostPatternTest, HostWithPortMatchesThatPortOnly) {
  const HostPattern reviews = host("reviews:9080");
  EXPECT_TRUE(reviews.matches("reviews:9080"));
  EXPECT_TRUE(reviews.matches("REVIEWS:9080"));
  EXPECT_FALSE(reviews.matches("reviews"));
  EXPECT_FALSE(reviews.matches("reviews:8080"));
  EXPECT_TRUE(host("*:9080").matches("anything:9080"));
  EXPECT_FALSE(host("*:9080").matches("anything:80"));
}

TEST(HostPatternTest, WildcardsApplyToTheHostWithoutPort) {
  EXPECT_TRUE(host("*.example.com").matches("api.example.com:443"));
  EXPECT_TRUE(host("*.example.com").matches("API.Example.COM"));
  EXPECT_FALSE(host("*.example.com").matches("example.com"));
  EXPECT_TRUE(host("api.*").matches("api.example.com:443"));
  EXPECT_TRUE(host("*").matches("x:1"));
  EXPECT_FALSE(host("*").matches(""));
  EXPECT_FALSE(host("*").matches(":80"));
}

TEST(HostPatternTest, Ipv6Literals) {
  EXPECT_TRUE(host("[fd00::1]").matches("[fd00::1]:8080"));
  EXPECT_TRUE(host("[fd00::1]").matches("[FD00::1]"));
  EXPECT_TRUE(host("[fd00::1]:8080").matches("[fd00::1]:8080"));
  EXPECT_FALSE(host("[fd00::1]:8080").matches("[fd00::1]:80"));
  EXPECT_FALSE(host("[fd00::1]:8080").matches("[fd00::1]"));
}

TEST(HostPatternTest, PortIsCutAsTheRouterCutsIt) {
  EXPECT_EQ(hostWithoutPort("a.example:80"), "a.example");
  EXPECT_EQ(hostWithoutPort("a.example"), "a.example");
  EXPECT_EQ(hostWithoutPort("[::1]:80"), "[::1]");
  EXPECT_EQ(hostWithoutPort("[::1]"), "[::1]");
  // Whatever follows the last ':' goes, so that "admin:x" cannot avoid a DENY on "admin" while
  // still being routed to its virtual host.
  EXPECT_EQ(hostWithoutPort("admin:x"), "admin");
}

TEST(PrincipalNamespaceTest, SegmentAfterNs) {
  EXPECT_EQ(principalNamespace("spiffe://cluster.local/ns/default/sa/productpage"), "default");
  EXPECT_EQ(principalNamespace("spiffe://cluster.local/ns/prod"), "prod");
  EXPECT_EQ(principalNamespace(""), "");
  EXPECT_EQ(principalNamespace("spiffe://cluster.local/sa/x"), "");
  EXPECT_EQ(principalNamespace("spiffe://cluster.local/ns//sa/x"), "");
  // A trust domain called "ns" is not a namespace marker.
  EXPECT_EQ(principalNamespace("spiffe://ns/ns/team/sa/x"), "team");
  EXPECT_EQ(principalNamespace("spiffe://ns/sa/x"), "");
}

}  // namespace
}  // namespace weft::proxy::authz
