#include "controlplane/ca/token_file.h"

#include <gtest/gtest.h>
#include <stdio.h>

#include "controlplane/ca/token_file_authenticator.h"
#include "controlplane/ca/workload_identity.h"
#include "tests/unit/controlplane/ca/ca_test_support.h"

namespace weft::controlplane::ca {
namespace {

using namespace testing;

std::vector<std::string> usernames(const TokenFileContents& contents) {
  std::vector<std::string> out;
  for (const StaticToken& token : contents.tokens) {
    out.push_back(token.username);
  }
  return out;
}

TEST(TokenFileTest, ParsesKubernetesStaticTokenLines) {
  TokenFileContents contents = parseTokenFile(
      "# comment\n"
      "t0k3n-a,system:serviceaccount:default:reviews,uid-1\n"
      "\n"
      "t0k3n-b,system:serviceaccount:shop:cart,uid-2,\"system:serviceaccounts,group2\"\r\n"
      "\"t0k,en-c\",\"user \"\"quoted\"\"\",uid-3");
  EXPECT_TRUE(contents.problems.empty()) << contents.problems.front();
  EXPECT_EQ(usernames(contents),
            (std::vector<std::string>{"system:serviceaccount:default:reviews",
                                      "system:serviceaccount:shop:cart", "user \"quoted\""}));
  EXPECT_EQ(contents.tokens[0].digest, tokenDigest("t0k3n-a"));
  EXPECT_EQ(contents.tokens[1].digest, tokenDigest("t0k3n-b"));
  EXPECT_EQ(contents.tokens[2].digest, tokenDigest("t0k,en-c"));
  EXPECT_EQ(contents.tokens[1].line, 4u);
}

TEST(TokenFileTest, SkipsMalformedLinesAndSaysWhy) {
  TokenFileContents contents = parseTokenFile(
      "only,two\n"
      ",system:serviceaccount:default:a,uid\n"
      "tok,,uid\n"
      "\"unterminated,system:serviceaccount:default:a,uid\n"
      "tok\"en,system:serviceaccount:default:a,uid\n"
      "\"tok\"x,system:serviceaccount:default:a,uid\n"
      "good,system:serviceaccount:default:good,uid\n");
  EXPECT_EQ(usernames(contents), std::vector<std::string>{"system:serviceaccount:default:good"});
  ASSERT_EQ(contents.problems.size(), 6u);
  EXPECT_EQ(contents.problems[0], "line 1: expected at least 3 fields (token,user,uid), found 2");
  EXPECT_EQ(contents.problems[1], "line 2: empty token");
  EXPECT_EQ(contents.problems[2], "line 3: empty user name");
  EXPECT_EQ(contents.problems[3], "line 4: unterminated quoted field");
  EXPECT_EQ(contents.problems[4], "line 5: bare '\"' in an unquoted field");
  EXPECT_EQ(contents.problems[5], "line 6: unexpected text after a quoted field");
  for (const std::string& problem : contents.problems) {
    EXPECT_EQ(problem.find("unterminated,"), std::string::npos) << "a token was quoted";
  }
}

TEST(TokenFileTest, ARepeatedTokenAuthenticatesNobody) {
  TokenFileContents contents = parseTokenFile(
      "same,system:serviceaccount:default:a,1\n"
      "other,system:serviceaccount:default:b,2\n"
      "same,system:serviceaccount:default:c,3\n");
  EXPECT_EQ(usernames(contents), std::vector<std::string>{"system:serviceaccount:default:b"});
  ASSERT_EQ(contents.problems.size(), 1u);
  EXPECT_EQ(contents.problems[0], "line 3: token already on line 1; neither line is used");
}

TEST(TokenFileTest, GarbageNeverCrashes) {
  std::string noise;
  for (int i = 0; i < 4096; ++i) {
    noise.push_back(static_cast<char>((i * 7919) % 256));
  }
  TokenFileContents contents = parseTokenFile(noise);
  (void)contents;
  parseTokenFile(std::string(1, '\0'));
  parseTokenFile("\"");
  parseTokenFile(",,,,\n\n\r\n\"\"\"\"");
}

TEST(WorkloadIdentityTest, OnlyServiceAccountUsernamesAreWorkloads) {
  auto identity = serviceAccountFromUsername("system:serviceaccount:default:reviews");
  ASSERT_TRUE(identity);
  EXPECT_EQ(*identity, (WorkloadIdentity{"default", "reviews"}));
  EXPECT_EQ(spiffeId("cluster.local", *identity), "spiffe://cluster.local/ns/default/sa/reviews");
  EXPECT_TRUE(serviceAccountFromUsername("system:serviceaccount:ns:name.with.dots"));
  for (const char* username :
       {"admin", "system:admin", "system:serviceaccount:default", "system:serviceaccount::sa",
        "system:serviceaccount:default:", "system:serviceaccount:default:a:b",
        "system:serviceaccount:Default:sa", "system:serviceaccount:default:sa/../admin",
        "system:serviceaccounts:default:sa", "system:serviceaccount:a.b:sa"}) {
    EXPECT_FALSE(serviceAccountFromUsername(username)) << username;
  }
}

class TokenFileAuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("tokens.csv");
    writeFile(path_,
              "reviews-token,system:serviceaccount:default:reviews,uid-1\n"
              "admin-token,admin,uid-2,system:masters\n"
              "broken line\n");
    ASSERT_EQ(authenticator_.load(), "");
  }

  Rejection rejectionOf(std::string_view token) {
    auto decision = authenticator_.authenticate(token);
    if (!std::holds_alternative<Rejection>(decision)) {
      ADD_FAILURE() << "authenticated " << token;
      return {RejectReason::kInternal, ""};
    }
    return std::get<Rejection>(decision);
  }

  std::optional<WorkloadIdentity> identityOf(std::string_view token) {
    auto decision = authenticator_.authenticate(token);
    if (auto* identity = std::get_if<WorkloadIdentity>(&decision)) {
      return *identity;
    }
    return std::nullopt;
  }

  TempDir dir_;
  std::string path_;
  TokenFileAuthenticator authenticator_{dir_.file("tokens.csv")};
};

TEST_F(TokenFileAuthenticatorTest, KnownServiceAccountTokenGivesItsIdentity) {
  EXPECT_EQ(authenticator_.tokenCount(), 2u);
  EXPECT_EQ(identityOf("reviews-token"), (WorkloadIdentity{"default", "reviews"}));
}

TEST_F(TokenFileAuthenticatorTest, UnknownTokenIsRejectedWithoutEchoingIt) {
  for (const char* token : {"nope", "reviews-toke", "reviews-token2", "REVIEWS-TOKEN"}) {
    Rejection rejection = rejectionOf(token);
    EXPECT_EQ(rejection.reason, RejectReason::kUnknownToken) << token;
    EXPECT_EQ(rejection.message.find(token), std::string::npos);
  }
}

TEST_F(TokenFileAuthenticatorTest, TokenOfAUserWhoIsNoServiceAccountIsRejected) {
  Rejection rejection = rejectionOf("admin-token");
  EXPECT_EQ(rejection.reason, RejectReason::kNotServiceAccount);
  EXPECT_NE(rejection.message.find("\"admin\""), std::string::npos) << rejection.message;
  EXPECT_EQ(rejection.message.find("admin-token"), std::string::npos);
}

TEST_F(TokenFileAuthenticatorTest, ChangesToTheFileArePickedUp) {
  // Rewritten in place: a revoked token stops working, a new one starts.
  writeFile(path_, "cart-token,system:serviceaccount:shop:cart,uid-3\n");
  EXPECT_EQ(identityOf("cart-token"), (WorkloadIdentity{"shop", "cart"}));
  EXPECT_EQ(rejectionOf("reviews-token").reason, RejectReason::kUnknownToken);

  // Replaced by rename, as a Kubernetes Secret volume does it (same size as before).
  const std::string staged = dir_.file("tokens.csv.new");
  writeFile(staged, "cart-token,system:serviceaccount:shop:cort,uid-3\n");
  ASSERT_EQ(::rename(staged.c_str(), path_.c_str()), 0);
  EXPECT_EQ(identityOf("cart-token"), (WorkloadIdentity{"shop", "cort"}));
}

TEST_F(TokenFileAuthenticatorTest, UnreadableFileFailsClosed) {
  ASSERT_EQ(::remove(path_.c_str()), 0);
  Rejection rejection = rejectionOf("reviews-token");
  EXPECT_EQ(rejection.reason, RejectReason::kCredentialsUnavailable);
  EXPECT_NE(rejection.message.find(path_), std::string::npos);

  TokenFileAuthenticator missing(dir_.file("does-not-exist"));
  EXPECT_NE(missing.load(), "");
}

}  // namespace
}  // namespace weft::controlplane::ca
