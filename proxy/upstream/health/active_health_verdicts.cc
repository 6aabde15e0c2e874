#include "proxy/upstream/health/active_health_verdicts.h"

namespace weft::proxy {

ActiveHealthVerdicts::ActiveHealthVerdicts(size_t endpoints)
    : failed_(std::make_unique<std::atomic<bool>[]>(endpoints)), size_(endpoints) {
  for (size_t i = 0; i < endpoints; ++i) {
    failed_[i].store(true, std::memory_order_relaxed);
  }
}

void ActiveHealthVerdicts::set(size_t index, bool failed) {
  if (index >= size_ || failed_[index].load(std::memory_order_relaxed) == failed) {
    return;
  }
  failed_[index].store(failed, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
}

}  // namespace weft::proxy
