#include "proxy/upstream/resilience/attempt_result.h"

namespace weft::proxy {

HostOutcome hostOutcome(const AttemptResult& result) {
  switch (result.failure) {
    case AttemptFailure::kNone:
      return hostFacingStatus(result) >= 500 ? HostOutcome::kExternalFailure
                                             : HostOutcome::kSuccess;
    case AttemptFailure::kConnectFailure:
    case AttemptFailure::kReset:
    case AttemptFailure::kPerTryTimeout:
      return HostOutcome::kLocalFailure;
    case AttemptFailure::kRefusedStream:
      // The host is alive and said so: it is busy, not broken.
      return HostOutcome::kNotTheHosts;
    case AttemptFailure::kRouteTimeout:
    case AttemptFailure::kOverflow:
      return HostOutcome::kNotTheHosts;
  }
  return HostOutcome::kNotTheHosts;
}

unsigned hostFacingStatus(const AttemptResult& result) {
  switch (result.grpc_status) {
    case 14:  // UNAVAILABLE
      return 503;
    case 4:  // DEADLINE_EXCEEDED
      return 504;
    case 2:   // UNKNOWN
    case 13:  // INTERNAL
    case 15:  // DATA_LOSS
      return 500;
    default:
      return result.status;
  }
}

}  // namespace weft::proxy
