#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "proxy/upstream/lb/host.h"
#include "proxy/upstream/lb/lb_config.h"

namespace weft::proxy::lb {

// Which hosts of a level (or locality) a pick draws from.
enum class HostSource : uint8_t {
  kHealthy,   // healthy hosts
  kDegraded,  // degraded hosts (healthy ones fell short)
  kAll,       // every host except draining ones (panic mode)
};
inline constexpr uint32_t kHostSourceCount = 3;

// The hosts of one level (or one locality of it) that a source admits, as of the last
// PrioritySet::refresh(). Load balancers keep per-list state (a scheduler, a sampler) indexed by
// id() and rebuild it when version() changes; a list whose contents did not change keeps its
// version, so its state (e.g. the round-robin position) survives unrelated health changes.
class HostList {
 public:
  static constexpr uint32_t kWholeLevel = std::numeric_limits<uint32_t>::max();

  std::span<Host* const> hosts() const { return hosts_; }
  size_t size() const { return hosts_.size(); }
  bool empty() const { return hosts_.empty(); }
  Host* operator[](size_t i) const { return hosts_[i]; }

  // Unique among the lists of one PrioritySet, dense from 0 (see PrioritySet::listCount()).
  uint32_t id() const { return id_; }
  // Changes whenever the contents change; never repeats within a PrioritySet.
  uint64_t version() const { return version_; }
  uint32_t level() const { return level_; }
  uint32_t locality() const { return locality_; }  // kWholeLevel for the whole level
  HostSource source() const { return source_; }

  // Whether `host` is in this list. O(1): decided from the host's level, locality and health.
  bool contains(const Host& host) const;

  // Hosts this list can ever hold (its level's or locality's members): the size to preallocate
  // per-list state for, so that rebuilding it after a health change never allocates.
  size_t capacity() const { return capacity_; }

 private:
  friend class PrioritySet;

  // In-place rewrite by PrioritySet::refresh(): an unchanged list keeps its version, and the
  // rewrite stays within the reserved capacity.
  void beginRewrite() {
    rewrite_size_ = 0;
    rewrite_changed_ = false;
  }
  void append(Host* host);
  bool endRewrite();  // true when the contents changed

  std::vector<Host*> hosts_;
  uint64_t version_ = 0;
  size_t capacity_ = 0;
  size_t rewrite_size_ = 0;
  bool rewrite_changed_ = false;
  uint32_t id_ = 0;
  uint32_t level_ = 0;
  uint32_t locality_ = kWholeLevel;
  HostSource source_ = HostSource::kAll;
};

// The hosts of one priority.
class HostSet {
 public:
  uint32_t priority() const { return priority_; }

  // Every host of the level in config order, draining and unhealthy ones included: the fixed
  // membership consistent hashing is built over.
  std::span<Host* const> members() const { return members_; }

  const HostList& list(HostSource source, uint32_t locality = HostList::kWholeLevel) const {
    const uint32_t slot = locality == HostList::kWholeLevel ? 0 : locality + 1;
    return lists_[slot * kHostSourceCount + static_cast<uint32_t>(source)];
  }
  std::span<Host* const> hosts(HostSource source) const { return list(source).hosts(); }

  uint32_t localityCount() const { return static_cast<uint32_t>(locality_weights_.size()); }
  // The locality's load_balancing_weight; 0 when unset.
  uint32_t localityWeight(uint32_t locality) const { return locality_weights_[locality]; }

 private:
  friend class PrioritySet;

  uint32_t priority_ = 0;
  std::vector<Host*> members_;
  std::vector<uint32_t> locality_weights_;
  // (1 + localityCount()) x kHostSourceCount lists: the whole level first, then each locality.
  std::vector<HostList> lists_;
};

// All hosts of one cluster on one worker, grouped into priority levels and localities, with the
// health-filtered lists load balancers draw from.
//
// Built once per worker per cluster from the snapshot's ClusterLbConfig. Health sources flip
// flags with setFlag() without rebuilding anything; the lists are recomputed lazily by refresh(),
// which a load balancer calls before its next pick when healthVersion() has moved. Every list is
// preallocated to its capacity at construction, so refreshes do not allocate either.
//
// Not thread-safe: one worker only. Not copyable or movable (hosts point into it).
class PrioritySet {
 public:
  explicit PrioritySet(const ClusterLbConfig& config);
  PrioritySet(const PrioritySet&) = delete;
  PrioritySet& operator=(const PrioritySet&) = delete;

  // Every host, in config order (locality by locality); Host::index() is the position.
  std::span<Host> hosts() { return hosts_; }
  std::span<const Host> hosts() const { return hosts_; }
  bool empty() const { return hosts_.empty(); }

  // Levels in ascending priority, one per priority that has a locality (gaps are skipped, so a
  // level's position can differ from its HostSet::priority()).
  std::span<const HostSet> levels() const { return levels_; }

  // Lists across all levels; HostList::id() is below this.
  uint32_t listCount() const { return static_cast<uint32_t>(lists_by_id_.size()); }
  const HostList& list(uint32_t id) const { return *lists_by_id_[id]; }

  // Sets or clears one health reason of `host`, which must belong to this set. O(1). Lists are
  // updated by the next refresh().
  void setFlag(Host& host, HostFlag flag, bool on);

  // Moves whenever a setFlag() changed some host's health.
  uint64_t healthVersion() const { return health_version_; }

  // Brings the lists up to date with the hosts' flags. O(hosts) when health changed since the
  // last refresh, O(1) otherwise; never allocates.
  void refresh();

 private:
  void rebuildLists();

  std::vector<Host> hosts_;
  std::vector<HostSet> levels_;
  std::vector<const HostList*> lists_by_id_;
  uint64_t health_version_ = 1;
  uint64_t refreshed_version_ = 0;
  uint64_t next_list_version_ = 1;
};

}  // namespace weft::proxy::lb
