#include "proxy/upstream/lb/priority_set.h"

#include <map>

namespace weft::proxy::lb {
namespace {

bool admits(HostSource source, HostHealth health) {
  switch (source) {
    case HostSource::kHealthy:
      return health == HostHealth::kHealthy;
    case HostSource::kDegraded:
      return health == HostHealth::kDegraded;
    case HostSource::kAll:
      return health != HostHealth::kDraining;
  }
  return false;
}

}  // namespace

void HostList::append(Host* host) {
  if (rewrite_size_ < hosts_.size()) {
    if (hosts_[rewrite_size_] != host) {
      hosts_[rewrite_size_] = host;
      rewrite_changed_ = true;
    }
  } else {
    hosts_.push_back(host);
    rewrite_changed_ = true;
  }
  ++rewrite_size_;
}

bool HostList::endRewrite() {
  if (rewrite_size_ != hosts_.size()) {
    hosts_.resize(rewrite_size_);
    rewrite_changed_ = true;
  }
  return rewrite_changed_;
}

bool HostList::contains(const Host& host) const {
  return host.level() == level_ && (locality_ == kWholeLevel || host.locality() == locality_) &&
         admits(source_, host.health());
}

PrioritySet::PrioritySet(const ClusterLbConfig& config) {
  // Levels: one per priority in use, ascending.
  std::map<uint32_t, uint32_t> level_of_priority;
  size_t endpoint_count = 0;
  for (const LocalityConfig& locality : config.localities) {
    level_of_priority.emplace(locality.priority, 0);
    endpoint_count += locality.endpoints.size();
  }
  levels_.resize(level_of_priority.size());
  uint32_t next_level = 0;
  for (auto& [priority, level] : level_of_priority) {
    level = next_level++;
    levels_[level].priority_ = priority;
  }

  // Hosts in config order; their addresses are final once the vector is filled.
  hosts_.reserve(endpoint_count);
  for (const LocalityConfig& locality : config.localities) {
    const uint32_t level = level_of_priority[locality.priority];
    HostSet& set = levels_[level];
    const auto locality_index = static_cast<uint32_t>(set.locality_weights_.size());
    set.locality_weights_.push_back(locality.weight);
    for (const EndpointConfig& endpoint : locality.endpoints) {
      hosts_.emplace_back(endpoint, static_cast<uint32_t>(hosts_.size()), level, locality.priority,
                          locality_index);
    }
  }

  std::vector<size_t> locality_sizes;
  for (uint32_t level = 0; level < levels_.size(); ++level) {
    HostSet& set = levels_[level];
    locality_sizes.assign(set.localityCount(), 0);
    for (Host& host : hosts_) {
      if (host.level() == level) {
        set.members_.push_back(&host);
        ++locality_sizes[host.locality()];
      }
    }
    set.lists_.resize((1 + set.localityCount()) * kHostSourceCount);
    for (uint32_t slot = 0; slot <= set.localityCount(); ++slot) {
      for (uint32_t source = 0; source < kHostSourceCount; ++source) {
        HostList& list = set.lists_[slot * kHostSourceCount + source];
        list.id_ = static_cast<uint32_t>(lists_by_id_.size());
        lists_by_id_.push_back(&list);
        list.level_ = level;
        list.locality_ = slot == 0 ? HostList::kWholeLevel : slot - 1;
        list.source_ = static_cast<HostSource>(source);
        list.capacity_ = slot == 0 ? set.members_.size() : locality_sizes[slot - 1];
        list.hosts_.reserve(list.capacity_);
        list.version_ = next_list_version_++;
      }
    }
  }
  rebuildLists();
  refreshed_version_ = health_version_;
}

void PrioritySet::setFlag(Host& host, HostFlag flag, bool on) {
  const HostHealth before = host.health();
  if (on) {
    host.flags_ = static_cast<uint8_t>(host.flags_ | static_cast<uint8_t>(flag));
  } else {
    host.flags_ = static_cast<uint8_t>(host.flags_ & ~static_cast<uint8_t>(flag));
  }
  if (host.health() != before) {
    ++health_version_;
  }
}

void PrioritySet::refresh() {
  if (refreshed_version_ == health_version_) {
    return;
  }
  rebuildLists();
  refreshed_version_ = health_version_;
}

void PrioritySet::rebuildLists() {
  for (HostSet& set : levels_) {
    for (HostList& list : set.lists_) {
      list.beginRewrite();
    }
    for (Host* host : set.members_) {
      const HostHealth health = host->health();
      for (uint32_t source = 0; source < kHostSourceCount; ++source) {
        if (admits(static_cast<HostSource>(source), health)) {
          set.lists_[source].append(host);
          set.lists_[(host->locality() + 1) * kHostSourceCount + source].append(host);
        }
      }
    }
    for (HostList& list : set.lists_) {
      if (list.endRewrite()) {
        list.version_ = next_list_version_++;
      }
    }
  }
}

}  // namespace weft::proxy::lb
