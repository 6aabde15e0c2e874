// The CA's cluster-mode parts apart from the network: what a TokenReview answer decides, and the
// CA files in a Secret. The wire side (a real HTTPS exchange with a Kubernetes API test server)
// is tests/integration/ca_kubernetes_test.py.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "common/text/base64.h"
#include "controlplane/ca/secret_ca_storage.h"
#include "controlplane/ca/token_review_authenticator.h"

namespace weft::controlplane::ca {
namespace {

namespace json = boost::json;

kube::ApiClient unusedClient() {
  kube::ApiServer server;
  server.host = "127.0.0.1";
  server.ca_file = "/nonexistent";
  return kube::ApiClient(server, std::chrono::seconds(1));
}

std::string review(std::string_view status_json) {
  return R"({"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{},"status":)" +
         std::string(status_json) + "}";
}

RejectReason reasonOf(const Decision<WorkloadIdentity>& decision) {
  return std::get<Rejection>(decision).reason;
}

TEST(TokenReviewAuthenticatorTest, AServiceAccountTokenGivesItsIdentity) {
  TokenReviewAuthenticator authenticator(unusedClient(), {});
  const auto decision = authenticator.decide(
      201, review(R"({"authenticated":true,"user":{"username":"system:serviceaccount:shop:cart",)"
                  R"("groups":["system:serviceaccounts"]}})"));
  ASSERT_TRUE(std::holds_alternative<WorkloadIdentity>(decision));
  EXPECT_EQ(std::get<WorkloadIdentity>(decision), (WorkloadIdentity{"shop", "cart"}));
}

TEST(TokenReviewAuthenticatorTest, AnUnauthenticatedTokenIsUnknownWithTheServersReason) {
  TokenReviewAuthenticator authenticator(unusedClient(), {});
  const auto decision =
      authenticator.decide(201, review(R"({"authenticated":false,"error":"token has expired"})"));
  ASSERT_TRUE(std::holds_alternative<Rejection>(decision));
  EXPECT_EQ(reasonOf(decision), RejectReason::kUnknownToken);
  EXPECT_NE(std::get<Rejection>(decision).message.find("token has expired"), std::string::npos);
  EXPECT_EQ(reasonOf(authenticator.decide(201, review("{}"))), RejectReason::kUnknownToken);
}

TEST(TokenReviewAuthenticatorTest, AUserThatIsNoServiceAccountIsRefused) {
  TokenReviewAuthenticator authenticator(unusedClient(), {});
  const auto decision = authenticator.decide(
      200, review(R"({"authenticated":true,"user":{"username":"kubernetes-admin"}})"));
  EXPECT_EQ(reasonOf(decision), RejectReason::kNotServiceAccount);
}

TEST(TokenReviewAuthenticatorTest, AnswersItCannotTrustAreUnavailableNotUnknown) {
  TokenReviewAuthenticator authenticator(unusedClient(), {});
  // The API server refused the review itself (our own credentials, or an outage): the caller's
  // token was not judged, so the proxy should retry rather than be told its token is bad.
  for (const auto& [status, body] : std::vector<std::pair<unsigned, std::string>>{
           {403, R"({"kind":"Status","message":"tokenreviews is forbidden","code":403})"},
           {500, "oops"},
           {201, "not json"},
           {201, R"({"kind":"TokenReview"})"},
           {201, review(R"({"authenticated":true})")},
           {201, review(R"({"authenticated":true,"user":{"username":7}})")}}) {
    EXPECT_EQ(reasonOf(authenticator.decide(status, body)), RejectReason::kCredentialsUnavailable)
        << status << " " << body;
  }
  const auto forbidden =
      authenticator.decide(403, R"({"kind":"Status","message":"tokenreviews is forbidden"})");
  EXPECT_NE(std::get<Rejection>(forbidden).message.find("tokenreviews is forbidden"),
            std::string::npos);
}

TEST(TokenReviewAuthenticatorTest, WithAnAudienceTheAnswerMustNameIt) {
  TokenReviewAuthenticator authenticator(unusedClient(), {"weft-ca"});
  const json::value request = json::parse(authenticator.reviewRequest("tok"));
  EXPECT_EQ(request.at("kind").as_string(), "TokenReview");
  EXPECT_EQ(request.at("apiVersion").as_string(), "authentication.k8s.io/v1");
  EXPECT_EQ(request.at("spec").at("token").as_string(), "tok");
  EXPECT_EQ(request.at("spec").at("audiences"), (json::array{"weft-ca"}));

  const std::string user = R"("user":{"username":"system:serviceaccount:shop:cart"})";
  EXPECT_TRUE(std::holds_alternative<WorkloadIdentity>(authenticator.decide(
      201, review(R"({"authenticated":true,"audiences":["weft-ca"],)" + user + "}"))));
  EXPECT_EQ(
      reasonOf(authenticator.decide(
          201, review(R"({"authenticated":true,"audiences":["https://kubernetes.default.svc"],)" +
                      user + "}"))),
      RejectReason::kUnknownToken);
  EXPECT_EQ(reasonOf(authenticator.decide(201, review(R"({"authenticated":true,)" + user + "}"))),
            RejectReason::kUnknownToken);
}

TEST(TokenReviewAuthenticatorTest, WithoutAudienceTheRequestNamesNone) {
  TokenReviewAuthenticator authenticator(unusedClient(), {});
  const json::value request = json::parse(authenticator.reviewRequest("tok"));
  EXPECT_EQ(request.at("spec").as_object().if_contains("audiences"), nullptr);
}

std::string secretWith(const json::object& data) {
  json::object secret{{"apiVersion", "v1"}, {"kind", "Secret"}, {"data", data}};
  return json::serialize(secret);
}

TEST(SecretCaStorageTest, ReadsEveryCaFileFromTheSecretsData) {
  auto files =
      SecretCaStorage::parseSecret(secretWith({{"ca-cert.pem", text::encodeBase64("CERT")},
                                               {"ca-key.pem", text::encodeBase64("KEY")},
                                               {"root-cert.pem", text::encodeBase64("ROOT")},
                                               {"cert-chain.pem", text::encodeBase64("CHAIN")},
                                               {"extra-roots.pem", text::encodeBase64("EXTRA")},
                                               {"unrelated", text::encodeBase64("ignored")}}));
  ASSERT_TRUE(files) << files.error();
  EXPECT_EQ(files->signing_cert, "CERT");
  EXPECT_EQ(files->signing_key, "KEY");
  EXPECT_EQ(files->root_cert, "ROOT");
  EXPECT_EQ(files->cert_chain, "CHAIN");
  EXPECT_EQ(files->extra_roots, "EXTRA");
}

TEST(SecretCaStorageTest, ASecretWithoutTheSigningPairIsRefusedWithWhatToDo) {
  for (const char* body : {R"({"kind":"Secret","metadata":{"name":"ca"}})",
                           R"({"kind":"Secret","data":null})", R"({"kind":"Secret","data":{}})"}) {
    auto files = SecretCaStorage::parseSecret(body);
    ASSERT_FALSE(files) << body;
    EXPECT_NE(files.error().find("delete it"), std::string::npos) << files.error();
  }
}

TEST(SecretCaStorageTest, RefusesBrokenSecretsNamingTheKey) {
  auto half = SecretCaStorage::parseSecret(secretWith({{"ca-cert.pem", "Q0VSVA=="}}));
  ASSERT_FALSE(half);
  EXPECT_NE(half.error().find("ca-key.pem"), std::string::npos);
  auto bad = SecretCaStorage::parseSecret(secretWith({{"ca-key.pem", "not*base64"}}));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("data.ca-key.pem"), std::string::npos);
  EXPECT_FALSE(SecretCaStorage::parseSecret(secretWith({{"ca-key.pem", 5}})));
  EXPECT_FALSE(SecretCaStorage::parseSecret("[]"));
  EXPECT_FALSE(SecretCaStorage::parseSecret(R"({"data":"x"})"));
}

TEST(SecretCaStorageTest, TheCreatedSecretReadsBackAsTheGeneratedRoot) {
  SecretCaStorage storage(unusedClient(), "weft-system", "weft-ca");
  const json::value secret = json::parse(storage.secretForRoot("CERT PEM", "KEY PEM"));
  EXPECT_EQ(secret.at("kind").as_string(), "Secret");
  EXPECT_EQ(secret.at("metadata").at("name").as_string(), "weft-ca");
  EXPECT_EQ(secret.at("metadata").at("namespace").as_string(), "weft-system");
  EXPECT_EQ(secret.at("type").as_string(), "Opaque");
  auto files = SecretCaStorage::parseSecret(json::serialize(secret));
  ASSERT_TRUE(files) << files.error();
  EXPECT_EQ(files->signing_cert, "CERT PEM");
  EXPECT_EQ(files->signing_key, "KEY PEM");
  EXPECT_NE(storage.location().find("weft-system/weft-ca"), std::string::npos);
}

}  // namespace
}  // namespace weft::controlplane::ca
