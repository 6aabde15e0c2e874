#include "proxy/upstream/resilience/retry_policy.h"

#include <algorithm>
#include <charconv>

namespace weft::proxy {
namespace {

bool grpcConditionHolds(const RetryPolicyConfig& policy, int grpc_status) {
  switch (grpc_status) {
    case kGrpcCancelled:
      return policy.has(RetryCondition::kGrpcCancelled);
    case kGrpcDeadlineExceeded:
      return policy.has(RetryCondition::kGrpcDeadlineExceeded);
    case kGrpcResourceExhausted:
      return policy.has(RetryCondition::kGrpcResourceExhausted);
    case kGrpcInternal:
      return policy.has(RetryCondition::kGrpcInternal);
    case kGrpcUnavailable:
      return policy.has(RetryCondition::kGrpcUnavailable);
    default:
      return false;
  }
}

}  // namespace

bool RetryPolicyConfig::retriable(const AttemptResult& result, const RequestView* response,
                                  std::string& scratch) const {
  if (retry_on == 0) {
    return false;
  }
  // 5xx and gateway-error cover every failure that produced no response
  // (except a refused stream, which has its own condition).
  const bool any_failure = has(RetryCondition::k5xx) || has(RetryCondition::kGatewayError);
  switch (result.failure) {
    case AttemptFailure::kConnectFailure:
      return any_failure || has(RetryCondition::kConnectFailure);
    case AttemptFailure::kReset:
    case AttemptFailure::kPerTryTimeout:
      return any_failure || has(RetryCondition::kReset);
    case AttemptFailure::kRefusedStream:
      return has(RetryCondition::kRefusedStream) || has(RetryCondition::k5xx);
    case AttemptFailure::kRouteTimeout:
    case AttemptFailure::kOverflow:
      return false;
    case AttemptFailure::kNone:
      break;
  }
  const unsigned status = result.status;
  if (status >= 500 && has(RetryCondition::k5xx)) {
    return true;
  }
  if (isGatewayStatus(status) && has(RetryCondition::kGatewayError)) {
    return true;
  }
  if (status == 409 && has(RetryCondition::kRetriable4xx)) {
    return true;
  }
  if (has(RetryCondition::kRetriableStatusCodes) &&
      std::find(retriable_status_codes.begin(), retriable_status_codes.end(), status) !=
          retriable_status_codes.end()) {
    return true;
  }
  if (result.grpc_status > 0 && grpcConditionHolds(*this, result.grpc_status)) {
    return true;
  }
  if (has(RetryCondition::kRetriableHeaders) && response != nullptr) {
    // ":status" is matched against the response's status, whatever protocol carried it.
    RequestView view = *response;
    char digits[8];
    const auto written = std::to_chars(digits, digits + sizeof(digits), status);
    view.status = std::string_view(digits, static_cast<size_t>(written.ptr - digits));
    for (const HeaderMatchConfig& header : retriable_headers) {
      if (header.matches(view, scratch)) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace weft::proxy
