#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "proxy/upstream/lb/priority_set.h"
#include "proxy/upstream/resilience/attempt_result.h"

namespace weft::proxy {

// A cluster's OutlierDetection, compiled.
struct OutlierConfig {
  uint32_t consecutive_5xx = 5;      // 0: off
  uint32_t consecutive_gateway = 0;  // 0: off
  uint32_t consecutive_local = 5;    // only with split_local; 0: off
  bool split_local = false;
  std::chrono::milliseconds interval{10'000};
  std::chrono::milliseconds base_ejection{30'000};
  std::chrono::milliseconds max_ejection{300'000};
  uint32_t max_ejection_percent = 10;
  struct SuccessRate {
    uint32_t minimum_hosts = 5;
    uint32_t request_volume = 100;
    double stdev_factor = 1.9;
  };
  std::optional<SuccessRate> success_rate;
};

// Passive health checking of one cluster on one worker: watches the outcome
// of every attempt (the classifier of attempt_result.h, the same one retries
// use) and ejects hosts that fail, by setting HostFlag::kOutlierEjected on the
// worker's PrioritySet, so the load balancer stops picking them.
//
// - Consecutive failures: N 5xx-or-local failures in a row (consecutive_5xx),
//   N gateway failures in a row (consecutive_gateway), or with split_local, N
//   local-origin failures in a row (consecutive_local) eject a host at once.
// - Success rate: every interval, hosts with at least request_volume attempts
//   whose success rate is below mean - stdev_factor x stdev of those hosts
//   (when at least minimum_hosts qualify) are ejected.
// - An ejection lasts base_ejection x the times the host was ejected, capped
//   at max_ejection; each interval a host spends in the pool forgives one.
// - At most max_ejection_percent % of the hosts are out at once (but one may
//   always be, in a cluster of two or more). When too many hosts are out for
//   the rest, the load balancer's panic threshold spreads load over all.
//
// Per worker, like the load balancer it steers: no lock, no shared count. The
// clock is the caller's, so tests drive time. Not thread-safe.
class OutlierDetector {
 public:
  using Clock = std::chrono::steady_clock;

  OutlierDetector(const OutlierConfig& config, lb::PrioritySet& hosts, Clock::time_point now);

  // Continues from `previous`, the same cluster's detector on this worker in the config this
  // one replaces: an endpoint still there (same address) keeps its counts and its ejection, so
  // a config update does not readmit an ejected endpoint early, as far as this cluster's
  // max_ejection_percent allows. New endpoints start clean. Only on a detector no attempt was
  // reported to yet.
  void adopt(const OutlierDetector& previous);

  // The attempt on `host` ended with `result`.
  void report(lb::Host& host, const AttemptResult& result, Clock::time_point now);

  // Returns hosts whose ejection is over and runs the interval's review when
  // due. report() calls it; a caller with no attempt to report may too.
  void tick(Clock::time_point now);

  uint32_t ejectedCount() const { return ejected_; }
  uint32_t timesEjected(const lb::Host& host) const { return states_[host.index()].times_ejected; }
  bool ejected(const lb::Host& host) const { return states_[host.index()].ejected; }

 private:
  struct HostState {
    uint32_t consecutive_5xx = 0;
    uint32_t consecutive_gateway = 0;
    uint32_t consecutive_local = 0;
    uint32_t times_ejected = 0;
    bool ejected = false;
    Clock::time_point ejected_until;
    uint32_t interval_successes = 0;
    uint32_t interval_total = 0;
  };

  bool mayEject() const;
  void eject(lb::Host& host, HostState& state, Clock::time_point now);
  void reviewInterval(Clock::time_point now);

  OutlierConfig config_;
  lb::PrioritySet& hosts_;
  std::vector<HostState> states_;
  uint32_t ejected_ = 0;
  Clock::time_point next_review_;
  Clock::time_point next_return_ = Clock::time_point::max();
};

}  // namespace weft::proxy
