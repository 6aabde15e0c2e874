#pragma once

#include <string>
#include <vector>

#include "common/kube/api_client.h"
#include "controlplane/ca/caller_authenticator.h"

namespace weft::controlplane::ca {

// Cluster mode's caller authentication: the proxy's projected service-account token goes to
// the Kubernetes API in a TokenReview (authentication.k8s.io/v1), which answers whether it is
// valid, for which audiences, and whose it is. The username of a service-account token is
// "system:serviceaccount:<ns>:<sa>", the same form the bootstrap token file gives in local
// mode, so both authenticators end in serviceAccountFromUsername().
//
// With `audiences` set, the review asks for them and a token is accepted only when the answer
// names one of them (Kubernetes: a client that asks must check the intersection); a token
// minted for another audience (e.g. the API server's own) is refused, so a token stolen from a
// workload's API calls cannot get its certificate. Without them the API server's default
// audience applies.
//
// Each call blocks for one HTTPS round trip to the API server (mayBlock()), bounded by the
// client's timeout. An API server that cannot be reached, or answers with an error, refuses the
// call as UNAVAILABLE (the proxy retries with backoff), never as "unknown token".
class TokenReviewAuthenticator final : public CallerAuthenticator {
 public:
  TokenReviewAuthenticator(kube::ApiClient client, std::vector<std::string> audiences);

  Decision<WorkloadIdentity> authenticate(std::string_view token) override;
  bool mayBlock() const override { return true; }

  // The decision for a TokenReview answer (`status` and `body` of the HTTP response), apart from
  // the transport, for unit tests.
  Decision<WorkloadIdentity> decide(unsigned status, const std::string& body) const;

  // The request body for `token`.
  std::string reviewRequest(std::string_view token) const;

 private:
  kube::ApiClient client_;
  std::vector<std::string> audiences_;
};

}  // namespace weft::controlplane::ca
