#pragma once

#include <cstdint>

namespace weft::proxy {

// How one attempt to reach an upstream ended, in the terms every user of the
// outcome shares: the retry policy (what to retry), outlier detection (what
// counts against a host) and metrics (what to count). One classifier, so that a
// response the retry treats as failed is also the one that ejects its host.
enum class AttemptFailure : uint8_t {
  kNone,            // a response arrived (its status may still be a failure)
  kConnectFailure,  // connecting or the TLS handshake failed, or the connect timed out
  kReset,           // the connection or stream broke before a complete response header
  kRefusedStream,   // HTTP/2 REFUSED_STREAM: the upstream never processed the request
  kPerTryTimeout,   // the attempt's own timeout expired (retriable as a reset)
  kRouteTimeout,    // the request's deadline expired: nothing more can be tried
  kOverflow,        // a circuit breaker refused the attempt locally: never retried
};

struct AttemptResult {
  AttemptFailure failure = AttemptFailure::kNone;
  unsigned status = 0;   // with kNone: the response status
  int grpc_status = -1;  // a trailers-only gRPC response's grpc-status; -1: none
};

// What an attempt means for the host that served it.
enum class HostOutcome : uint8_t {
  kSuccess,
  kExternalFailure,  // a 5xx the host sent (502, 503, 504 are also gateway failures)
  kLocalFailure,     // connect failure, reset, timeout: the host could not be used
  kNotTheHosts,      // the proxy's own refusal (overflow) or the route deadline: not counted
};

HostOutcome hostOutcome(const AttemptResult& result);

// The response's status as far as the host's health goes: a trailers-only gRPC answer of
// UNAVAILABLE counts as 503, DEADLINE_EXCEEDED as 504, and UNKNOWN, INTERNAL and DATA_LOSS as
// 500 (a gRPC server answers them with HTTP 200); otherwise the HTTP status.
unsigned hostFacingStatus(const AttemptResult& result);

// A 502, 503 or 504 response: the host (or something in front of it) could
// not serve the request at all.
inline bool isGatewayStatus(unsigned status) {
  return status >= 502 && status <= 504;
}

}  // namespace weft::proxy
