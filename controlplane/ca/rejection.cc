#include "controlplane/ca/rejection.h"

namespace weft::controlplane::ca {

std::string_view reasonLabel(RejectReason reason) {
  switch (reason) {
    case RejectReason::kMissingToken:
      return "missing_token";
    case RejectReason::kUnknownToken:
      return "unknown_token";
    case RejectReason::kNotServiceAccount:
      return "not_service_account";
    case RejectReason::kCredentialsUnavailable:
      return "credentials_unavailable";
    case RejectReason::kCaNotReady:
      return "ca_not_ready";
    case RejectReason::kInvalidRequest:
      return "invalid_request";
    case RejectReason::kMalformedCsr:
      return "malformed_csr";
    case RejectReason::kBadCsrSignature:
      return "bad_csr_signature";
    case RejectReason::kUnsupportedKey:
      return "unsupported_key";
    case RejectReason::kIdentityMismatch:
      return "identity_mismatch";
    case RejectReason::kSigningFailed:
      return "signing_failed";
    case RejectReason::kInternal:
      return "internal";
  }
  return "internal";
}

}  // namespace weft::controlplane::ca
