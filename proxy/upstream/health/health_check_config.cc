#include "proxy/upstream/health/health_check_config.h"

namespace weft::proxy {

bool HealthCheckConfig::expectedStatus(unsigned status) const {
  if (expected_statuses.empty()) {
    return status >= 200 && status < 400;
  }
  for (const auto& [start, end] : expected_statuses) {
    if (static_cast<int64_t>(status) >= start && static_cast<int64_t>(status) < end) {
      return true;
    }
  }
  return false;
}

EndpointHealthState::Change EndpointHealthState::record(bool success,
                                                        const HealthCheckConfig& config) {
  const bool first = !probed_;
  probed_ = true;
  if (success) {
    failures_ = 0;
    ++successes_;
    // The first success admits a new endpoint at once: waiting for healthy_threshold
    // probes would keep every new endpoint out for (threshold - 1) intervals.
    if (!healthy_ && (first || successes_ >= config.healthy_threshold)) {
      healthy_ = true;
      return Change::kBecameHealthy;
    }
    return Change::kNone;
  }
  successes_ = 0;
  ++failures_;
  if (healthy_ && failures_ >= config.unhealthy_threshold) {
    healthy_ = false;
    return Change::kBecameUnhealthy;
  }
  return Change::kNone;
}

}  // namespace weft::proxy
