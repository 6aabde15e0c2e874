#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "proxy/router/request_match.h"
#include "proxy/router/request_view.h"
#include "proxy/upstream/resilience/attempt_result.h"

namespace weft::proxy {

// The conditions of RetryPolicy.retry_on, one bit each.
enum class RetryCondition : uint32_t {
  k5xx = 1u << 0,
  kGatewayError = 1u << 1,
  kReset = 1u << 2,
  kConnectFailure = 1u << 3,
  kRefusedStream = 1u << 4,
  kRetriable4xx = 1u << 5,
  kRetriableStatusCodes = 1u << 6,
  kRetriableHeaders = 1u << 7,
  kGrpcCancelled = 1u << 8,
  kGrpcDeadlineExceeded = 1u << 9,
  kGrpcResourceExhausted = 1u << 10,
  kGrpcUnavailable = 1u << 11,
  kGrpcInternal = 1u << 12,
};

// A header telling when the upstream is ready again (RetryPolicy.reset_headers).
struct ResetHeaderConfig {
  std::string name;             // lower-case
  bool unix_timestamp = false;  // else seconds or an HTTP date
};

// A route's RetryPolicy, compiled once per snapshot.
struct RetryPolicyConfig {
  uint32_t retry_on = 0;  // RetryCondition bits; 0: never retry
  uint32_t num_retries = 1;
  std::chrono::milliseconds per_try_timeout{0};       // 0: none
  std::chrono::milliseconds per_try_idle_timeout{0};  // 0: none
  std::chrono::milliseconds backoff_base{25};
  std::chrono::milliseconds backoff_max{250};
  std::vector<unsigned> retriable_status_codes;
  std::vector<HeaderMatchConfig> retriable_headers;
  std::vector<ResetHeaderConfig> reset_headers;
  std::chrono::milliseconds max_reset_interval{300'000};
  bool avoid_previous_hosts = true;

  bool has(RetryCondition condition) const {
    return (retry_on & static_cast<uint32_t>(condition)) != 0;
  }

  // Whether an attempt that ended so is one of the policy's conditions.
  // `response` reads the response's header fields (null without a response);
  // `scratch` backs joined header values.
  bool retriable(const AttemptResult& result, const RequestView* response,
                 std::string& scratch) const;
};

// gRPC status codes the policy can name.
inline constexpr int kGrpcCancelled = 1;
inline constexpr int kGrpcDeadlineExceeded = 4;
inline constexpr int kGrpcResourceExhausted = 8;
inline constexpr int kGrpcInternal = 13;
inline constexpr int kGrpcUnavailable = 14;

}  // namespace weft::proxy
