#pragma once

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <boost/asio/ip/address.hpp>
#include <string>
#include <vector>

#include "proxy/authz/compiled_policy.h"
#include "proxy/authz/match_input.h"
#include "proxy/authz/policy_compiler.h"
#include "proxy/authz/policy_set.h"
#include "proxy/http2/header_list_lookup.h"

// Policies written in protobuf text format, and one request whose attributes each test
// changes, so that a test reads as "this policy, this request, this outcome".
namespace weft::proxy::authz::testing {

inline weft::v1::AuthorizationPolicy parsePolicy(const std::string& text) {
  weft::v1::AuthorizationPolicy policy;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &policy)) << text;
  return policy;
}

// Compiles a policy that must be valid.
inline CompiledAuthorizationPolicyPtr compilePolicy(const std::string& text) {
  config::ConfigErrors errors;
  CompiledAuthorizationPolicyPtr policy = compileAuthorizationPolicy(parsePolicy(text), "", errors);
  for (const config::ConfigError& error : errors) {
    ADD_FAILURE() << error.field_path << ": " << error.reason;
  }
  EXPECT_NE(policy, nullptr) << text;
  return policy;
}

// The compile errors of a policy that must be invalid, as "field: reason".
inline std::vector<std::string> compileErrors(const std::string& text) {
  config::ConfigErrors errors;
  const CompiledAuthorizationPolicyPtr policy =
      compileAuthorizationPolicy(parsePolicy(text), "", errors);
  EXPECT_EQ(policy, nullptr) << text;
  std::vector<std::string> lines;
  for (const config::ConfigError& error : errors) {
    lines.push_back(error.field_path + ": " + error.reason);
  }
  return lines;
}

// One request (or, for TCP chains, connection) with every attribute set.
struct TestRequest {
  std::string principal = "spiffe://cluster.local/ns/default/sa/productpage";
  std::string source_ip = "10.1.2.3";
  std::string destination_ip = "10.9.0.5";
  uint16_t destination_port = 8080;
  std::string sni = "reviews.default.svc.cluster.local";
  std::string method = "GET";
  std::string authority = "reviews:8080";
  std::string path = "/api/v1/items";
  HeaderList headers = {{"user-agent", "curl/8.0"}, {"x-tenant", "blue"}};

  ConnectionAttributes connection() const {
    return ConnectionAttributes{.principal = principal,
                                .source_ip = boost::asio::ip::make_address(source_ip),
                                .destination_ip = boost::asio::ip::make_address(destination_ip),
                                .destination_port = destination_port,
                                .sni = sni};
  }

  AuthorizationDecision decide(const AuthorizationPolicySet& set) const {
    const HeaderListLookup lookup(headers);
    const HttpRequestAttributes request{
        .method = method, .authority = authority, .path = path, .headers = &lookup};
    std::string scratch;
    return set.decideRequest(connection(), request, scratch);
  }

  AuthorizationDecision decideTcp(const AuthorizationPolicySet& set) const {
    return set.decideConnection(connection());
  }

  bool matches(const CompiledAuthorizationPolicy& policy) const {
    const HeaderListLookup lookup(headers);
    const HttpRequestAttributes request{
        .method = method, .authority = authority, .path = path, .headers = &lookup};
    std::string scratch;
    const ConnectionAttributes attributes = connection();
    return policy.matches(MatchInput(attributes, &request, &scratch));
  }

  bool matchesTcp(const CompiledAuthorizationPolicy& policy) const {
    const ConnectionAttributes attributes = connection();
    return policy.matches(MatchInput(attributes, nullptr, nullptr));
  }
};

// Compiled policies by name, and filter chains listing some of them.
class PolicyCatalog {
 public:
  // Compiles `text` and makes it available under its name.
  PolicyCatalog& add(const std::string& text) {
    CompiledAuthorizationPolicyPtr policy = compilePolicy(text);
    if (policy != nullptr) {
      index_[policy->name] = policy;
    }
    return *this;
  }

  AuthorizationPolicySet chain(const std::vector<std::string>& names,
                               bool default_deny = false) const {
    weft::v1::FilterChainAuthorization config;
    for (const std::string& name : names) {
      config.add_policies(name);
    }
    if (default_deny) {
      config.set_default_action(weft::v1::FilterChainAuthorization::DENY);
    }
    return AuthorizationPolicySet(config, index_);
  }

 private:
  CompiledPolicyIndex index_;
};

}  // namespace weft::proxy::authz::testing
