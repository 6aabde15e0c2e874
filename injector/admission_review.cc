#include "injector/admission_review.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "common/kube/json_fields.h"
#include "common/text/base64.h"

namespace weft::injector {

namespace json = boost::json;

namespace {

AdmissionAnswer malformed(std::string reason) {
  AdmissionAnswer answer;
  answer.http_status = 400;
  answer.body = "weft-injector: not an AdmissionReview v1 request: " + reason + "\n";
  answer.result.outcome = InjectionOutcome::kRefused;
  answer.result.reason = "malformed-review";
  answer.result.message = std::move(reason);
  return answer;
}

std::string responseBody(std::string_view uid, const InjectionResult& result) {
  json::object response{{"uid", uid}};
  if (result.outcome == InjectionOutcome::kRefused) {
    response["allowed"] = false;
    // The API server shows the message to whoever created the pod (or to the controller,
    // in its events): "admission webhook "sidecar.weft.dev" denied the request: <message>".
    response["status"] = {{"code", 400},
                          {"reason", "BadRequest"},
                          {"message", "weft sidecar injection: " + result.message}};
  } else {
    response["allowed"] = true;
    if (result.outcome == InjectionOutcome::kInjected) {
      response["patchType"] = "JSONPatch";
      response["patch"] = text::encodeBase64(json::serialize(result.patch));
    }
  }
  return json::serialize(json::object{{"apiVersion", "admission.k8s.io/v1"},
                                      {"kind", "AdmissionReview"},
                                      {"response", std::move(response)}});
}

}  // namespace

AdmissionAnswer answerAdmissionReview(std::string_view body, const InjectionSettings& settings) {
  json::parse_options options;
  options.max_depth = 64;
  std::error_code ec;
  json::value review = json::parse(body, ec, {}, options);
  if (ec) {
    return malformed("the body is not JSON (" + ec.message() + ")");
  }
  const json::object* root = review.if_object();
  if (root == nullptr) {
    return malformed("the body is not a JSON object");
  }
  const std::string_view api_version = kube::stringField(*root, "apiVersion");
  if (kube::stringField(*root, "kind") != "AdmissionReview" ||
      api_version != "admission.k8s.io/v1") {
    return malformed(
        "kind must be AdmissionReview and apiVersion admission.k8s.io/v1 (the "
        "webhook's admissionReviewVersions must be [v1]), not '" +
        std::string(kube::stringField(*root, "kind")) + "' '" + std::string(api_version) + "'");
  }
  const json::object* request = kube::objectField(*root, "request");
  if (request == nullptr) {
    return malformed("it has no request");
  }
  const std::string_view uid = kube::stringField(*request, "uid");
  if (uid.empty()) {
    return malformed("request.uid is missing");
  }
  AdmissionAnswer answer;
  answer.uid = uid;
  const json::object* kind = kube::objectField(*request, "kind");
  const json::object* pod = kube::objectField(*request, "object");
  const bool pod_create = kind != nullptr && kube::stringField(*kind, "group").empty() &&
                          kube::stringField(*kind, "kind") == "Pod" &&
                          kube::stringField(*request, "operation") == "CREATE";
  if (!pod_create) {
    // The webhook's rules send only pod creations; anything else is let through unchanged.
    answer.result = {
        InjectionOutcome::kSkipped, "not-a-pod", "the request is not the creation of a pod", {}};
  } else if (pod == nullptr) {
    answer.result = {InjectionOutcome::kRefused, "invalid-pod", "request.object is missing", {}};
  } else {
    // The pod's namespace: the request's (a pod created without metadata.namespace gets it
    // from the request path).
    std::string_view namespace_name = kube::stringField(*request, "namespace");
    const json::object* metadata = kube::objectField(*pod, "metadata");
    if (namespace_name.empty() && metadata != nullptr) {
      namespace_name = kube::stringField(*metadata, "namespace");
    }
    std::string_view name =
        metadata != nullptr ? kube::stringField(*metadata, "name") : std::string_view();
    std::string generated;
    if (name.empty() && metadata != nullptr) {
      generated = std::string(kube::stringField(*metadata, "generateName")) + "*";
      name = generated;
    }
    answer.pod = std::string(namespace_name) + "/" + std::string(name);
    answer.result = injectSidecar(*pod, namespace_name, settings);
  }
  answer.body = responseBody(uid, answer.result);
  return answer;
}

}  // namespace weft::injector
