#include "proxy/upstream/resilience/outlier_detector.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "proxy/stats/security_counters.h"
#include "proxy/stats/traffic_counters.h"

namespace weft::proxy {

OutlierDetector::OutlierDetector(const OutlierConfig& config, lb::PrioritySet& hosts,
                                 Clock::time_point now)
    : config_(config),
      hosts_(hosts),
      states_(hosts.hosts().size()),
      next_review_(now + config.interval) {}

bool OutlierDetector::mayEject() const {
  const auto total = static_cast<uint32_t>(states_.size());
  if (total < 2) {
    return false;  // ejecting the only host helps nobody
  }
  const uint32_t allowed = std::max<uint32_t>(1, total * config_.max_ejection_percent / 100);
  return config_.max_ejection_percent > 0 && ejected_ < allowed;
}

void OutlierDetector::eject(lb::Host& host, HostState& state, Clock::time_point now) {
  if (state.ejected || !mayEject()) {
    return;
  }
  ++state.times_ejected;
  const auto duration = std::min(config_.max_ejection, config_.base_ejection * state.times_ejected);
  state.ejected = true;
  state.ejected_until = now + duration;
  state.consecutive_5xx = 0;
  state.consecutive_gateway = 0;
  state.consecutive_local = 0;
  ++ejected_;
  count(trafficCounters().outlier_ejections);
  next_return_ = std::min(next_return_, state.ejected_until);
  hosts_.setFlag(host, lb::HostFlag::kOutlierEjected, true);
}

void OutlierDetector::adopt(const OutlierDetector& previous) {
  std::map<boost::asio::ip::tcp::endpoint, size_t> known;
  const std::span<lb::Host> old_hosts = previous.hosts_.hosts();
  for (size_t i = 0; i < old_hosts.size(); ++i) {
    known.emplace(old_hosts[i].address(), i);
  }
  const std::span<lb::Host> hosts = hosts_.hosts();
  for (size_t i = 0; i < hosts.size(); ++i) {
    const auto found = known.find(hosts[i].address());
    if (found == known.end()) {
      continue;
    }
    HostState& state = states_[i];
    state = previous.states_[found->second];
    known.erase(found);  // an address listed twice inherits once
    if (!state.ejected) {
      continue;
    }
    // Within this cluster's max_ejection_percent: a cluster that shrank readmits the rest.
    if (!mayEject()) {
      state.ejected = false;
      continue;
    }
    ++ejected_;
    next_return_ = std::min(next_return_, state.ejected_until);
    hosts_.setFlag(hosts[i], lb::HostFlag::kOutlierEjected, true);
  }
  next_review_ = previous.next_review_;
}

void OutlierDetector::report(lb::Host& host, const AttemptResult& result, Clock::time_point now) {
  tick(now);
  HostState& state = states_[host.index()];
  const HostOutcome outcome = hostOutcome(result);
  if (outcome == HostOutcome::kNotTheHosts) {
    return;
  }
  ++state.interval_total;
  if (outcome == HostOutcome::kSuccess) {
    ++state.interval_successes;
    state.consecutive_5xx = 0;
    state.consecutive_gateway = 0;
    state.consecutive_local = 0;
    return;
  }
  const bool local = outcome == HostOutcome::kLocalFailure;
  // A local failure (nothing answered) counts as a gateway failure and, unless
  // split, as a 5xx: the host did not serve the request either way.
  const bool gateway = local || isGatewayStatus(hostFacingStatus(result));
  bool eject_now = false;
  if (local && config_.split_local) {
    ++state.consecutive_local;
    eject_now =
        config_.consecutive_local != 0 && state.consecutive_local >= config_.consecutive_local;
  } else {
    ++state.consecutive_5xx;
    eject_now = config_.consecutive_5xx != 0 && state.consecutive_5xx >= config_.consecutive_5xx;
  }
  if (gateway) {
    ++state.consecutive_gateway;
    eject_now = eject_now || (config_.consecutive_gateway != 0 &&
                              state.consecutive_gateway >= config_.consecutive_gateway);
  } else {
    state.consecutive_gateway = 0;
  }
  if (eject_now) {
    eject(host, state, now);
  }
}

void OutlierDetector::tick(Clock::time_point now) {
  if (now >= next_return_) {
    next_return_ = Clock::time_point::max();
    std::span<lb::Host> hosts = hosts_.hosts();
    for (size_t i = 0; i < states_.size(); ++i) {
      HostState& state = states_[i];
      if (!state.ejected) {
        continue;
      }
      if (now >= state.ejected_until) {
        state.ejected = false;
        --ejected_;
        hosts_.setFlag(hosts[i], lb::HostFlag::kOutlierEjected, false);
      } else {
        next_return_ = std::min(next_return_, state.ejected_until);
      }
    }
  }
  if (now >= next_review_) {
    reviewInterval(now);
    next_review_ = now + config_.interval;
  }
}

void OutlierDetector::reviewInterval(Clock::time_point now) {
  for (HostState& state : states_) {
    if (!state.ejected && state.times_ejected > 0) {
      --state.times_ejected;  // a calm interval in the pool forgives one ejection
    }
  }
  if (config_.success_rate) {
    const OutlierConfig::SuccessRate& rule = *config_.success_rate;
    double sum = 0;
    double squares = 0;
    uint32_t counted = 0;
    for (const HostState& state : states_) {
      if (!state.ejected && state.interval_total >= rule.request_volume) {
        const double rate = static_cast<double>(state.interval_successes) / state.interval_total;
        sum += rate;
        squares += rate * rate;
        ++counted;
      }
    }
    if (counted >= rule.minimum_hosts && counted > 0) {
      const double mean = sum / counted;
      const double deviation = std::sqrt(std::max(0.0, squares / counted - mean * mean));
      const double floor = mean - rule.stdev_factor * deviation;
      std::span<lb::Host> hosts = hosts_.hosts();
      for (size_t i = 0; i < states_.size(); ++i) {
        HostState& state = states_[i];
        if (!state.ejected && state.interval_total >= rule.request_volume &&
            static_cast<double>(state.interval_successes) / state.interval_total < floor) {
          eject(hosts[i], state, now);
        }
      }
    }
  }
  for (HostState& state : states_) {
    state.interval_successes = 0;
    state.interval_total = 0;
  }
}

}  // namespace weft::proxy
