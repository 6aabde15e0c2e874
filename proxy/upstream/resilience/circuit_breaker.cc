#include "proxy/upstream/resilience/circuit_breaker.h"

#include <mutex>
#include <unordered_map>

namespace weft::proxy {

std::shared_ptr<ClusterCircuitCounts> ClusterCircuitCounts::forCluster(const std::string& name) {
  // Weak references: the counts die with the last snapshot that names the
  // cluster, and a cluster added again later starts from zero.
  static std::mutex mutex;
  static std::unordered_map<std::string, std::weak_ptr<ClusterCircuitCounts>> known;
  const std::lock_guard lock(mutex);
  std::weak_ptr<ClusterCircuitCounts>& slot = known[name];
  if (auto counts = slot.lock()) {
    return counts;
  }
  auto counts = std::make_shared<ClusterCircuitCounts>();
  slot = counts;
  if (known.size() > 256) {
    std::erase_if(known, [](const auto& entry) { return entry.second.expired(); });
  }
  return counts;
}

std::string circuitOverflowDetail(const std::string& cluster, uint32_t limit, std::string_view what,
                                  std::string_view setting) {
  std::string detail = "cluster '" + cluster + "' has " + std::to_string(limit) + " ";
  detail.append(what).append(" (circuit breaker ").append(setting).append(")");
  return detail;
}

}  // namespace weft::proxy
