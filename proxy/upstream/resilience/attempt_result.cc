#include "proxy/upstream/resilience/attempt_result.h"

namespace weft::proxy {

HostOutcome hostOutcome(const AttemptResult& result) {
  switch (result.failure) {
    case AttemptFailure::kNone:
      return result.status >= 500 ? HostOutcome::kExternalFailure : HostOutcome::kSuccess;
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

}  // namespace weft::proxy
