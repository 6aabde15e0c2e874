#pragma once

#include <atomic>
#include <cstdint>

namespace weft::proxy {

// The traffic-policy counters' values at one instant (/stats/prometheus).
struct TrafficCounterValues {
  uint64_t retries = 0;
  uint64_t retries_budget_refused = 0;
  uint64_t fault_delays = 0;
  uint64_t fault_aborts = 0;
  uint64_t rate_limited = 0;
  uint64_t mirrored = 0;
  uint64_t mirror_dropped = 0;
  uint64_t mirror_failures = 0;
  uint64_t health_checks = 0;
  uint64_t health_check_failures = 0;
  uint64_t health_check_unhealthy = 0;
  uint64_t outlier_ejections = 0;
  uint64_t spans_exported = 0;
  uint64_t spans_dropped = 0;
  uint64_t span_export_failures = 0;
  uint64_t tcp_upstream_failures = 0;
};

// Process-wide counts of what the traffic policies did: retries made and
// refused by a budget, faults injected, requests refused by a rate limit.
// Like SecurityCounters: relaxed atomics, one add per event, and nothing on
// the path of a request no policy touched.
struct TrafficCounters {
  std::atomic<uint64_t> retries{0};
  std::atomic<uint64_t> retries_budget_refused{0};
  std::atomic<uint64_t> fault_delays{0};
  std::atomic<uint64_t> fault_aborts{0};
  std::atomic<uint64_t> rate_limited{0};
  std::atomic<uint64_t> mirrored{0};
  std::atomic<uint64_t> mirror_dropped{0};
  std::atomic<uint64_t> mirror_failures{0};
  std::atomic<uint64_t> health_checks{0};
  std::atomic<uint64_t> health_check_failures{0};
  std::atomic<uint64_t> health_check_unhealthy{0};
  std::atomic<uint64_t> outlier_ejections{0};
  std::atomic<uint64_t> spans_exported{0};
  std::atomic<uint64_t> spans_dropped{0};
  std::atomic<uint64_t> span_export_failures{0};
  std::atomic<uint64_t> tcp_upstream_failures{0};

  TrafficCounterValues load() const {
    constexpr auto kRelaxed = std::memory_order_relaxed;
    return TrafficCounterValues{
        .retries = retries.load(kRelaxed),
        .retries_budget_refused = retries_budget_refused.load(kRelaxed),
        .fault_delays = fault_delays.load(kRelaxed),
        .fault_aborts = fault_aborts.load(kRelaxed),
        .rate_limited = rate_limited.load(kRelaxed),
        .mirrored = mirrored.load(kRelaxed),
        .mirror_dropped = mirror_dropped.load(kRelaxed),
        .mirror_failures = mirror_failures.load(kRelaxed),
        .health_checks = health_checks.load(kRelaxed),
        .health_check_failures = health_check_failures.load(kRelaxed),
        .health_check_unhealthy = health_check_unhealthy.load(kRelaxed),
        .outlier_ejections = outlier_ejections.load(kRelaxed),
        .spans_exported = spans_exported.load(kRelaxed),
        .spans_dropped = spans_dropped.load(kRelaxed),
        .span_export_failures = span_export_failures.load(kRelaxed),
        .tcp_upstream_failures = tcp_upstream_failures.load(kRelaxed),
    };
  }
};

TrafficCounters& trafficCounters();

}  // namespace weft::proxy
