#include "proxy/upstream/lb/load_balancer_base.h"

#include <algorithm>

#include "proxy/upstream/lb/hash.h"

namespace weft::proxy::lb {
namespace {

constexpr size_t kLocalitySources = 2;  // kHealthy and kDegraded; kAll (panic) ignores locality

// Fixed-point scale of effective locality weights: weight x availability keeps three decimal
// digits, and weight (<= 10^6) x 1024 stays within EdfScheduler::kMaxWeight.
constexpr uint64_t kAvailabilityScale = 1024;

}  // namespace

LoadBalancerBase::LoadBalancerBase(PrioritySet& hosts, const LbPolicyConfig& config, uint64_t seed,
                                   Traits traits)
    : hosts_(hosts),
      config_(normalizePolicy(config)),
      traits_(traits),
      random_(seed),
      level_health_(hosts.levels().size()) {
  if (traits_.supports_locality_weighting && config_.locality_weighted) {
    locality_schedulers_.resize(hosts.levels().size() * kLocalitySources);
    for (size_t level = 0; level < hosts.levels().size(); ++level) {
      for (size_t source = 0; source < kLocalitySources; ++source) {
        locality_schedulers_[level * kLocalitySources + source].reserve(
            hosts.levels()[level].localityCount());
      }
    }
  }
  refresh();
}

Host* LoadBalancerBase::choose(const LbContext& context) {
  if (hosts_.healthVersion() != seen_health_version_) {
    refresh();
  }
  uint64_t hash = 0;
  uint32_t percent = 0;
  if (traits_.hash_based) {
    hash = context.hash ? *context.hash : random_.next();
    // Remixed so that which level a key lands on is independent of where it lands within it.
    percent = static_cast<uint32_t>(scaleToRange(mix64(hash), 100));
  } else {
    percent = static_cast<uint32_t>(random_.below(100));
  }
  const std::optional<LevelChoice> choice = load_.select(percent);
  if (!choice) {
    return nullptr;
  }
  const HostSet& level = hosts_.levels()[choice->level];
  const HostList& list = locality_schedulers_.empty() || choice->source == HostSource::kAll
                             ? level.list(choice->source)
                             : chooseLocality(level, choice->level, choice->source);
  if (list.empty()) {
    return nullptr;  // not reached: a source with load has hosts
  }
  return chooseFrom(Pick{level, list, hash}, context);
}

const HostList& LoadBalancerBase::chooseLocality(const HostSet& level, size_t level_index,
                                                 HostSource source) {
  EdfScheduler& scheduler = locality_schedulers_[level_index * kLocalitySources +
                                                 (source == HostSource::kDegraded ? 1 : 0)];
  if (scheduler.empty()) {
    // No locality can take this traffic (none has a weight, or the weighted ones have no
    // such host): balance over the whole level rather than fail, as Envoy does.
    return level.list(source);
  }
  return level.list(source, scheduler.pick());
}

void LoadBalancerBase::refresh() {
  hosts_.refresh();
  const std::span<const HostSet> levels = hosts_.levels();
  for (size_t i = 0; i < levels.size(); ++i) {
    level_health_[i] = LevelHealth{
        static_cast<uint32_t>(levels[i].list(HostSource::kAll).size()),
        static_cast<uint32_t>(levels[i].list(HostSource::kHealthy).size()),
        static_cast<uint32_t>(levels[i].list(HostSource::kDegraded).size()),
    };
  }
  load_.compute(level_health_, config_.overprovisioning_factor, config_.healthy_panic_threshold);

  // Locality weights follow health: weight x min(1, overprovisioning x available / total), so a
  // locality losing hosts sheds load to the others before the whole level spills over.
  for (size_t level = 0; level < levels.size() && !locality_schedulers_.empty(); ++level) {
    const HostSet& set = levels[level];
    for (size_t source = 0; source < kLocalitySources; ++source) {
      EdfScheduler& scheduler = locality_schedulers_[level * kLocalitySources + source];
      scheduler.reset(static_cast<uint32_t>(random_.next() >> 32));
      const HostSource host_source = source == 0 ? HostSource::kHealthy : HostSource::kDegraded;
      for (uint32_t locality = 0; locality < set.localityCount(); ++locality) {
        const uint64_t total = set.list(HostSource::kAll, locality).size();
        const uint64_t available = set.list(host_source, locality).size();
        if (total == 0 || available == 0) {
          continue;
        }
        const uint64_t availability =
            std::min(100 * total, uint64_t{config_.overprovisioning_factor} * available);
        scheduler.add(locality, set.localityWeight(locality) * availability * kAvailabilityScale /
                                    (100 * total));
      }
    }
  }
  seen_health_version_ = hosts_.healthVersion();
}

bool LoadBalancerBase::shouldAvoidExcluded(const HostList& list, const LbContext& context) {
  const std::span<const Host* const> excluded = context.excluded;
  size_t excluded_in_list = 0;
  for (size_t i = 0; i < excluded.size(); ++i) {
    const Host* host = excluded[i];
    if (host == nullptr || !list.contains(*host) ||
        std::find(excluded.begin(), excluded.begin() + static_cast<std::ptrdiff_t>(i), host) !=
            excluded.begin() + static_cast<std::ptrdiff_t>(i)) {
      continue;
    }
    ++excluded_in_list;
  }
  return excluded_in_list > 0 && excluded_in_list < list.size();
}

Host* LoadBalancerBase::firstAllowed(const HostList& list, const LbContext& context, size_t start) {
  const size_t size = list.size();
  for (size_t i = 0; i < size; ++i) {
    Host* host = list[(start + i) % size];
    if (!context.excludes(host)) {
      return host;
    }
  }
  return list[start % size];
}

}  // namespace weft::proxy::lb
