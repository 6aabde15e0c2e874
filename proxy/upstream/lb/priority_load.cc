#include "proxy/upstream/lb/priority_load.h"

#include <algorithm>

namespace weft::proxy::lb {
namespace {

uint32_t availability(uint32_t count, uint32_t total, uint32_t overprovisioning_factor) {
  if (total == 0) {
    return 0;
  }
  return static_cast<uint32_t>(
      std::min<uint64_t>(100, uint64_t{overprovisioning_factor} * count / total));
}

}  // namespace

void PriorityLoad::compute(std::span<const LevelHealth> levels, uint32_t overprovisioning_factor,
                           double panic_threshold) {
  const size_t count = levels.size();
  healthy_.assign(count, 0);
  degraded_.assign(count, 0);
  panic_.assign(count, 0);

  uint32_t total_availability = 0;
  uint64_t total_hosts = 0;
  for (const LevelHealth& level : levels) {
    total_availability += availability(level.healthy, level.total, overprovisioning_factor) +
                          availability(level.degraded, level.total, overprovisioning_factor);
    total_hosts += level.total;
  }
  total_availability = std::min<uint32_t>(100, total_availability);

  if (total_availability == 0) {
    // Nothing healthy or degraded anywhere: total panic, load by host count, or nothing at all.
    if (panic_threshold <= 0 || total_hosts == 0) {
      return;
    }
    uint32_t assigned = 0;
    for (size_t i = 0; i < count; ++i) {
      healthy_[i] = static_cast<uint32_t>(100 * uint64_t{levels[i].total} / total_hosts);
      assigned += healthy_[i];
      panic_[i] = 1;
    }
    for (size_t i = 0; i < count; ++i) {
      if (levels[i].total > 0) {
        healthy_[i] += 100 - assigned;
        break;
      }
    }
    return;
  }

  uint32_t remaining = 100;
  for (size_t i = 0; i < count; ++i) {
    const uint32_t share =
        availability(levels[i].healthy, levels[i].total, overprovisioning_factor) * 100 /
        total_availability;
    healthy_[i] = std::min(remaining, share);
    remaining -= healthy_[i];
  }
  for (size_t i = 0; i < count; ++i) {
    const uint32_t share =
        availability(levels[i].degraded, levels[i].total, overprovisioning_factor) * 100 /
        total_availability;
    degraded_[i] = std::min(remaining, share);
    remaining -= degraded_[i];
  }
  if (remaining > 0) {
    auto first = std::find_if(healthy_.begin(), healthy_.end(), [](uint32_t v) { return v > 0; });
    if (first != healthy_.end()) {
      *first += remaining;
    } else {
      *std::find_if(degraded_.begin(), degraded_.end(), [](uint32_t v) { return v > 0; }) +=
          remaining;
    }
  }

  if (total_availability < 100 && panic_threshold > 0) {
    for (size_t i = 0; i < count; ++i) {
      const LevelHealth& level = levels[i];
      const double usable = 100.0 * (level.healthy + level.degraded);
      panic_[i] = level.total == 0 || usable < panic_threshold * level.total ? 1 : 0;
    }
  }
}

std::optional<LevelChoice> PriorityLoad::select(uint32_t percent) const {
  uint32_t cumulative = 0;
  for (size_t i = 0; i < healthy_.size(); ++i) {
    cumulative += healthy_[i];
    if (percent < cumulative) {
      return LevelChoice{i, panic(i) ? HostSource::kAll : HostSource::kHealthy};
    }
  }
  for (size_t i = 0; i < degraded_.size(); ++i) {
    cumulative += degraded_[i];
    if (percent < cumulative) {
      return LevelChoice{i, panic(i) ? HostSource::kAll : HostSource::kDegraded};
    }
  }
  return std::nullopt;
}

}  // namespace weft::proxy::lb
