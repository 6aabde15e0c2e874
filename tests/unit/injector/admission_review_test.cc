// AdmissionReview v1 in and out: what the API server sends, what it must get back, and a
// clear 400 for anything that is not a review.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "common/text/base64.h"
#include "injector/admission_review.h"

namespace weft::injector {
namespace {

namespace json = boost::json;

InjectionSettings testSettings() {
  InjectionSettings settings;
  settings.mesh_root_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  return settings;
}

std::string review(std::string_view request) {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":)" +
         std::string(request) + "}";
}

constexpr std::string_view kPodCreate = R"({
  "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
  "kind": {"group": "", "version": "v1", "kind": "Pod"},
  "resource": {"group": "", "version": "v1", "resource": "pods"},
  "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
  "requestResource": {"group": "", "version": "v1", "resource": "pods"},
  "namespace": "shop",
  "operation": "CREATE",
  "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
  "object": {"apiVersion": "v1", "kind": "Pod",
             "metadata": {"generateName": "web-5d8f7-", "labels": {"app": "web"}},
             "spec": {"containers": [{"name": "app", "image": "web:1"}]}},
  "oldObject": null,
  "dryRun": false,
  "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
})";

TEST(AdmissionReview, InjectsWithABase64JsonPatch) {
  const AdmissionAnswer answer = answerAdmissionReview(review(kPodCreate), testSettings());
  ASSERT_EQ(answer.http_status, 200) << answer.body;
  EXPECT_EQ(answer.pod, "shop/web-5d8f7-*");
  EXPECT_EQ(answer.result.outcome, InjectionOutcome::kInjected);
  const json::object body = json::parse(answer.body).as_object();
  EXPECT_EQ(body.at("apiVersion"), "admission.k8s.io/v1");
  EXPECT_EQ(body.at("kind"), "AdmissionReview");
  const json::object& response = body.at("response").as_object();
  EXPECT_EQ(response.at("uid"), "705ab4f5-6393-11e8-b7cc-42010a800002");
  EXPECT_EQ(response.at("allowed"), true);
  EXPECT_EQ(response.at("patchType"), "JSONPatch");
  const auto patch = text::decodeBase64(response.at("patch").as_string());
  ASSERT_TRUE(patch.has_value());
  EXPECT_EQ(json::parse(*patch), json::value(answer.result.patch));
}

TEST(AdmissionReview, ASkippedPodIsAllowedUnchanged) {
  std::string request(kPodCreate);
  request.replace(request.find("\"shop\""), 6, "\"kube-system\"");
  const AdmissionAnswer answer = answerAdmissionReview(review(request), testSettings());
  ASSERT_EQ(answer.http_status, 200);
  EXPECT_EQ(answer.result.reason, "namespace-excluded");
  const json::value body = json::parse(answer.body);
  const json::object& response = body.at("response").as_object();
  EXPECT_EQ(response.at("allowed"), true);
  EXPECT_FALSE(response.contains("patch"));
  EXPECT_FALSE(response.contains("patchType"));
}

TEST(AdmissionReview, ARefusedPodIsDeniedWithTheReason) {
  std::string request(kPodCreate);
  request.replace(request.find("\"labels\""), 8,
                  R"("annotations": {"weft.dev/exclude-inbound-ports": "http"}, "labels")");
  const AdmissionAnswer answer = answerAdmissionReview(review(request), testSettings());
  ASSERT_EQ(answer.http_status, 200);
  const json::value body = json::parse(answer.body);
  const json::object& response = body.at("response").as_object();
  EXPECT_EQ(response.at("allowed"), false);
  EXPECT_EQ(response.at("status").at("code"), 400);
  EXPECT_EQ(response.at("status").at("message"),
            "weft sidecar injection: annotation weft.dev/exclude-inbound-ports: 'http' is not "
            "a comma-separated list of ports (1-65535)");
}

TEST(AdmissionReview, OtherOperationsAndKindsPassUnchanged) {
  std::string update(kPodCreate);
  update.replace(update.find("\"CREATE\""), 8, "\"UPDATE\"");
  std::string service(kPodCreate);
  service.replace(service.find("\"kind\": \"Pod\""), 13, "\"kind\": \"Service\"");
  for (const std::string& request : {update, service}) {
    const AdmissionAnswer answer = answerAdmissionReview(review(request), testSettings());
    ASSERT_EQ(answer.http_status, 200) << answer.body;
    EXPECT_EQ(answer.result.reason, "not-a-pod");
    EXPECT_EQ(json::parse(answer.body).at("response").at("allowed"), true);
  }
}

TEST(AdmissionReview, TheNamespaceFallsBackToThePods) {
  std::string request(kPodCreate);
  request.replace(request.find("\"namespace\": \"shop\","), 20, "");
  request.replace(request.find("\"generateName\""), 14, R"("namespace": "kube-system", "name")");
  const AdmissionAnswer answer = answerAdmissionReview(review(request), testSettings());
  EXPECT_EQ(answer.result.reason, "namespace-excluded") << answer.body;
}

TEST(AdmissionReview, MalformedReviewsGetA400WithTheReason) {
  const struct {
    std::string body;
    std::string reason;
  } cases[] = {
      {"", "the body is not JSON"},
      {"{\"apiVersion\":", "the body is not JSON"},
      {"[1,2]", "the body is not a JSON object"},
      {R"({"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{}})",
       "kind must be AdmissionReview and apiVersion admission.k8s.io/v1"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})", "it has no request"},
      {review(R"({"kind":{"kind":"Pod"}})"), "request.uid is missing"},
      {std::string(10000, '[') + std::string(10000, ']'), "the body is not JSON"},
  };
  for (const auto& entry : cases) {
    const AdmissionAnswer answer = answerAdmissionReview(entry.body, testSettings());
    EXPECT_EQ(answer.http_status, 400) << entry.body.substr(0, 80);
    EXPECT_EQ(answer.result.reason, "malformed-review");
    EXPECT_NE(answer.body.find(entry.reason), std::string::npos) << answer.body;
  }
}

TEST(AdmissionReview, APodCreationWithoutTheObjectIsRefused) {
  const AdmissionAnswer answer = answerAdmissionReview(
      review(R"({"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE"})"),
      testSettings());
  ASSERT_EQ(answer.http_status, 200);
  EXPECT_EQ(answer.result.reason, "invalid-pod");
  EXPECT_EQ(json::parse(answer.body).at("response").at("allowed"), false);
}

}  // namespace
}  // namespace weft::injector
