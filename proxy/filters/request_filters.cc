#include "proxy/filters/request_filters.h"

#include <random>

#include "proxy/stats/security_counters.h"
#include "proxy/stats/traffic_counters.h"
#include "proxy/upstream/lb/random.h"

namespace weft::proxy {
namespace {

uint32_t drawPerMillion() {
  thread_local lb::Random generator(std::random_device{}());
  return static_cast<uint32_t>(generator.below(FaultConfig::kMillion));
}

}  // namespace

std::string delayPastTimeoutDetail(std::chrono::milliseconds timeout,
                                   std::chrono::milliseconds delay) {
  return "the injected delay (" + std::to_string(delay.count()) +
         " ms) used up the route timeout (" + std::to_string(timeout.count()) + " ms)";
}

FilterVerdict runRequestFilters(const RouteEntry& route, const RequestView& request, bool grpc,
                                std::string_view source_identity, std::string& scratch) {
  FilterVerdict verdict;
  if (route.rate_limit != nullptr &&
      !route.rate_limit->bucketFor(source_identity, request.source)
           .tryTake(std::chrono::steady_clock::now()) &&
      (route.rate_limit->enforced_share >= FaultConfig::kMillion ||
       drawPerMillion() < route.rate_limit->enforced_share)) {
    const LocalRateLimit& limit = *route.rate_limit;
    count(trafficCounters().rate_limited);
    verdict.reply = true;
    verdict.reason = LocalReplyReason::kRateLimited;
    verdict.status = limit.status;
    verdict.detail =
        "route '" + route.name + "' allows " + std::to_string(limit.tokensPerFill()) +
        " request(s) per " +
        std::to_string(
            std::chrono::duration_cast<std::chrono::milliseconds>(limit.fillInterval()).count()) +
        " ms (bursts of " + std::to_string(limit.maxTokens()) + ")" +
        (limit.perSource() ? " per client" : "");
    return verdict;
  }
  if (route.fault == nullptr) {
    return verdict;
  }
  const FaultConfig& fault = *route.fault;
  const FaultVerdict faulted =
      decideFault(fault, request, grpc, drawPerMillion(), drawPerMillion(), scratch);
  if (!faulted.any()) {
    return verdict;
  }
  if (fault.max_active != 0) {
    verdict.fault_activity = FaultActivity(&fault);
  }
  verdict.delay = faulted.delay;
  if (faulted.delay.count() > 0) {
    count(trafficCounters().fault_delays);
  }
  if (faulted.abort_status != 0) {
    count(trafficCounters().fault_aborts);
    verdict.reply = true;
    verdict.reason = LocalReplyReason::kFaultAbort;
    verdict.status = faulted.abort_status;
    verdict.grpc_status = faulted.abort_grpc_status;
    verdict.detail = "fault injected by route '" + route.name + "'";
  }
  return verdict;
}

}  // namespace weft::proxy
