#pragma once

#include <string_view>

#include "controlplane/ca/rejection.h"
#include "controlplane/ca/workload_identity.h"

namespace weft::controlplane::ca {

// Establishes who calls the CA from the call's bearer token. Local mode reads a static token
// file (TokenFileAuthenticator); in a cluster, a Kubernetes TokenReview of the projected
// service-account token answers the same question with the same kind of username, so both end
// in serviceAccountFromUsername().
//
// Called on gRPC's threads, concurrently: implementations are thread-safe.
class CallerAuthenticator {
 public:
  virtual ~CallerAuthenticator() = default;

  // `token` is what followed "Bearer ", never empty. A Rejection is kUnknownToken,
  // kNotServiceAccount or kCredentialsUnavailable; its message never repeats the token.
  virtual Decision<WorkloadIdentity> authenticate(std::string_view token) = 0;

  // True when authenticate() waits on the network (a TokenReview): the service then calls it
  // off gRPC's threads, which must never block.
  virtual bool mayBlock() const { return false; }
};

}  // namespace weft::controlplane::ca
