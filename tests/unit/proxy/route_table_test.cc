#include <gtest/gtest.h>

#include <map>

#include "proxy/snapshot/snapshot.h"

namespace weft::proxy {
namespace {

VirtualHostConfig host(std::string name, std::vector<std::string> exact,
                       std::vector<std::string> suffixes = {},
                       std::vector<std::string> prefixes = {}, bool any = false) {
  VirtualHostConfig vhost;
  vhost.name = std::move(name);
  vhost.exact_domains = std::move(exact);
  vhost.suffix_domains = std::move(suffixes);
  vhost.prefix_domains = std::move(prefixes);
  vhost.matches_any = any;
  return vhost;
}

TEST(RouteTableTest, VirtualHostPrecedence) {
  RouteTable table;
  table.virtual_hosts.push_back(host("any", {}, {}, {}, true));
  table.virtual_hosts.push_back(host("prefix", {}, {}, {"reviews."}));
  table.virtual_hosts.push_back(host("short-suffix", {}, {".svc"}));
  table.virtual_hosts.push_back(host("long-suffix", {}, {".default.svc"}));
  table.virtual_hosts.push_back(host("exact", {"reviews.default.svc"}));

  EXPECT_EQ(table.findVirtualHost("reviews.default.svc")->name, "exact");
  EXPECT_EQ(table.findVirtualHost("REVIEWS.default.svc:9080")->name, "exact");
  EXPECT_EQ(table.findVirtualHost("ratings.default.svc")->name, "long-suffix");
  EXPECT_EQ(table.findVirtualHost("ratings.other.svc")->name, "short-suffix");
  EXPECT_EQ(table.findVirtualHost("reviews.example")->name, "prefix");
  EXPECT_EQ(table.findVirtualHost("[::1]:80")->name, "any");
  // A suffix wildcard stands for at least one character.
  EXPECT_EQ(table.findVirtualHost(".svc")->name, "any");
}

TEST(RouteTableTest, ADomainWithAPortMatchesTheWholeAuthorityFirst) {
  RouteTable table;
  table.virtual_hosts.push_back(host("no-port", {"reviews"}));
  table.virtual_hosts.push_back(host("with-port", {"reviews:9080"}));
  EXPECT_EQ(table.findVirtualHost("Reviews:9080")->name, "with-port");
  EXPECT_EQ(table.findVirtualHost("reviews:80")->name, "no-port");
  EXPECT_EQ(table.findVirtualHost("reviews")->name, "no-port");
  // An authority longer than any domain can be is matched by "*" only.
  EXPECT_EQ(table.findVirtualHost(std::string(600, 'a')), nullptr);
}

TEST(RouteTableTest, NoVirtualHostWithoutCatchAll) {
  RouteTable table;
  table.virtual_hosts.push_back(host("exact", {"a"}));
  EXPECT_EQ(table.findVirtualHost("b"), nullptr);
}

TEST(RouteTableTest, PathMatchKinds) {
  RouteEntry prefix;
  prefix.path_kind = PathMatchKind::kPrefix;
  prefix.path = "/api";
  EXPECT_TRUE(prefix.matchesPath("/api/x"));
  EXPECT_TRUE(prefix.matchesPath("/apix"));
  EXPECT_FALSE(prefix.matchesPath("/API"));
  prefix.case_sensitive = false;
  EXPECT_TRUE(prefix.matchesPath("/API/x"));

  RouteEntry separated;
  separated.path_kind = PathMatchKind::kSeparatedPrefix;
  separated.path = "/api";
  EXPECT_TRUE(separated.matchesPath("/api"));
  EXPECT_TRUE(separated.matchesPath("/api/x"));
  EXPECT_FALSE(separated.matchesPath("/apix"));

  RouteEntry exact;
  exact.path_kind = PathMatchKind::kExact;
  exact.path = "/healthz";
  EXPECT_TRUE(exact.matchesPath("/healthz"));
  EXPECT_FALSE(exact.matchesPath("/healthz/"));

  RouteEntry regex;
  regex.path_kind = PathMatchKind::kRegex;
  regex.path_regex = std::make_unique<RE2>("/items/[0-9]+");
  EXPECT_TRUE(regex.matchesPath("/items/42"));
  EXPECT_FALSE(regex.matchesPath("/items/42/x"));  // full match, not search
}

TEST(RouteTableTest, FirstMatchingRouteWinsAndQueryIsIgnored) {
  VirtualHostConfig vhost = host("h", {"h"});
  RouteEntry exact;
  exact.name = "exact";
  exact.path_kind = PathMatchKind::kExact;
  exact.path = "/a";
  RouteEntry prefix;
  prefix.name = "prefix";
  prefix.path = "/";
  vhost.routes.push_back(std::move(exact));
  vhost.routes.push_back(std::move(prefix));
  RequestView with_query{"GET", "http", "h", "/a?x=1", nullptr, {}};
  RequestView other{"GET", "http", "h", "/b", nullptr, {}};
  EXPECT_EQ(RouteTable::findRoute(vhost, with_query)->name, "exact");
  EXPECT_EQ(RouteTable::findRoute(vhost, other)->name, "prefix");
}

TEST(WeightedPickerTest, SplitIsExactPerCycleAndInterleaved) {
  WeightedPicker picker;
  picker.setTotal(100);
  std::map<bool, int> counts;
  int longest_run = 0;
  int run = 0;
  for (uint64_t ticket = 0; ticket < 100; ++ticket) {
    const bool canary = picker.point(ticket) >= 90;  // weights 90/10
    ++counts[canary];
    run = canary ? 0 : run + 1;
    longest_run = std::max(longest_run, run);
  }
  EXPECT_EQ(counts[false], 90);
  EXPECT_EQ(counts[true], 10);
  EXPECT_LT(longest_run, 20);  // not 90 stable picks in a row
}

TEST(WeightedPickerTest, TotalsThatShareAFactorWithThePrimeStillCoverEveryPoint) {
  for (uint64_t total : {1ULL, 2ULL, 7919ULL, 7919ULL * 3, 104729ULL * 7919}) {
    WeightedPicker picker;
    picker.setTotal(total);
    if (total > 100000) {
      EXPECT_NE(picker.stride % 7919, 0u);
      continue;
    }
    std::vector<bool> seen(total, false);
    for (uint64_t ticket = 0; ticket < total; ++ticket) {
      seen[picker.point(ticket)] = true;
    }
    EXPECT_EQ(std::count(seen.begin(), seen.end(), true), static_cast<long>(total)) << total;
  }
}

}  // namespace
}  // namespace weft::proxy
