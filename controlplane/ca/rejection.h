#pragma once

#include <array>
#include <string>
#include <string_view>
#include <variant>

namespace weft::controlplane::ca {

// Why the CA turned a request down. Each reason has one gRPC status code (ca.proto's error
// rules) and one metrics label; the message beside it carries the details.
enum class RejectReason {
  kMissingToken,            // no usable "authorization: Bearer" metadata: UNAUTHENTICATED
  kUnknownToken,            // the authenticator does not know the token: UNAUTHENTICATED
  kNotServiceAccount,       // the token is valid but names no service account: UNAUTHENTICATED
  kCredentialsUnavailable,  // the authenticator cannot decide now: UNAVAILABLE
  kCaNotReady,              // no trust domain or signing material yet: UNAVAILABLE
  kInvalidRequest,          // the request message breaks its field rules: INVALID_ARGUMENT
  kMalformedCsr,            // not a parsable PKCS#10 request: INVALID_ARGUMENT
  kBadCsrSignature,         // not signed by the key it carries: INVALID_ARGUMENT
  kUnsupportedKey,          // key type or size outside the policy: INVALID_ARGUMENT
  kIdentityMismatch,        // the CSR asks for another identity: PERMISSION_DENIED
  kSigningFailed,           // the CA could not sign (expired CA, OpenSSL failure): UNAVAILABLE
  kInternal,                // a bug (an exception reached the handler): INTERNAL
};

inline constexpr std::array kAllRejectReasons = {
    RejectReason::kMissingToken,      RejectReason::kUnknownToken,
    RejectReason::kNotServiceAccount, RejectReason::kCredentialsUnavailable,
    RejectReason::kCaNotReady,        RejectReason::kInvalidRequest,
    RejectReason::kMalformedCsr,      RejectReason::kBadCsrSignature,
    RejectReason::kUnsupportedKey,    RejectReason::kIdentityMismatch,
    RejectReason::kSigningFailed,     RejectReason::kInternal,
};

// The label value in weft_cp_ca_requests_rejected_total{reason=...}, e.g. "unknown_token".
std::string_view reasonLabel(RejectReason reason);

struct Rejection {
  RejectReason reason;
  // What was wrong, for the caller and the log. Never contains the token.
  std::string message;
};

// A step's result: what it produced, or why the request is refused.
template <class T>
using Decision = std::variant<T, Rejection>;

}  // namespace weft::controlplane::ca
