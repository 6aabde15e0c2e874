#include "controlplane/ca/token_review_authenticator.h"

#include <algorithm>
#include <boost/json.hpp>

namespace weft::controlplane::ca {
namespace {

namespace json = boost::json;

constexpr std::string_view kTokenReviewPath = "/apis/authentication.k8s.io/v1/tokenreviews";

const json::value* member(const json::value& value, std::string_view key) {
  const json::object* object = value.if_object();
  return object != nullptr ? object->if_contains(key) : nullptr;
}

Rejection unavailable(std::string message) {
  return Rejection{RejectReason::kCredentialsUnavailable, std::move(message)};
}

}  // namespace

TokenReviewAuthenticator::TokenReviewAuthenticator(kube::ApiClient client,
                                                   std::vector<std::string> audiences)
    : client_(std::move(client)), audiences_(std::move(audiences)) {}

std::string TokenReviewAuthenticator::reviewRequest(std::string_view token) const {
  json::object spec;
  spec["token"] = token;
  if (!audiences_.empty()) {
    json::array audiences;
    for (const std::string& audience : audiences_) {
      audiences.emplace_back(audience);
    }
    spec["audiences"] = std::move(audiences);
  }
  json::object review;
  review["apiVersion"] = "authentication.k8s.io/v1";
  review["kind"] = "TokenReview";
  review["spec"] = std::move(spec);
  return json::serialize(review);
}

Decision<WorkloadIdentity> TokenReviewAuthenticator::authenticate(std::string_view token) {
  const kube::ApiResponse response =
      client_.call("POST", std::string(kTokenReviewPath), reviewRequest(token));
  if (!response.error.empty()) {
    return unavailable("TokenReview at " + client_.server().url() + " failed: " + response.error);
  }
  return decide(response.status, response.body);
}

Decision<WorkloadIdentity> TokenReviewAuthenticator::decide(unsigned status,
                                                            const std::string& body) const {
  if (status != 200 && status != 201) {
    kube::ApiResponse response{status, body, {}};
    return unavailable("TokenReview refused by the Kubernetes API: " + response.describe());
  }
  boost::system::error_code parse_error;
  const json::value review = json::parse(body, parse_error);
  const json::value* review_status = parse_error ? nullptr : member(review, "status");
  const json::value* authenticated =
      review_status != nullptr ? member(*review_status, "authenticated") : nullptr;
  if (review_status == nullptr || !review_status->is_object()) {
    return unavailable("the TokenReview answer has no status object");
  }
  if (authenticated == nullptr || !authenticated->is_bool() || !authenticated->get_bool()) {
    // The API server's own reason ("token has expired", "invalid bearer token") helps the
    // operator; it never contains the token.
    std::string reason = "the Kubernetes API did not authenticate the bearer token";
    if (const json::value* error = member(*review_status, "error");
        error != nullptr && error->is_string() && !error->as_string().empty()) {
      reason += ": " + std::string(error->as_string().subview().substr(0, 256));
    }
    return Rejection{RejectReason::kUnknownToken, std::move(reason)};
  }
  if (!audiences_.empty()) {
    const json::value* granted = member(*review_status, "audiences");
    const bool intersects =
        granted != nullptr && granted->is_array() &&
        std::any_of(granted->as_array().begin(), granted->as_array().end(),
                    [&](const json::value& audience) {
                      return audience.is_string() &&
                             std::find(audiences_.begin(), audiences_.end(),
                                       audience.as_string().subview()) != audiences_.end();
                    });
    if (!intersects) {
      return Rejection{
          RejectReason::kUnknownToken,
          "the bearer token is not valid for the CA's audience '" + audiences_.front() + "'"};
    }
  }
  const json::value* user = member(*review_status, "user");
  const json::value* username = user != nullptr ? member(*user, "username") : nullptr;
  if (username == nullptr || !username->is_string()) {
    return unavailable("the TokenReview answer authenticates the token but names no user");
  }
  const std::string name(username->as_string().subview());
  std::optional<WorkloadIdentity> identity = serviceAccountFromUsername(name);
  if (!identity) {
    return Rejection{RejectReason::kNotServiceAccount,
                     "the bearer token belongs to user \"" + name.substr(0, 256) +
                         "\", not to a service account (system:serviceaccount:<namespace>:<name>)"};
  }
  return *identity;
}

}  // namespace weft::controlplane::ca
