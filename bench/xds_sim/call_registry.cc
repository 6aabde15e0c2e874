#include "bench/xds_sim/call_registry.h"

namespace weft::xds_sim {

void CallRegistry::enter() {
  std::lock_guard lock(mutex_);
  ++alive_;
}

void CallRegistry::leave() {
  std::lock_guard lock(mutex_);
  if (--alive_ == 0) {
    idle_.notify_all();
  }
}

bool CallRegistry::waitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return idle_.wait_for(lock, timeout, [this] { return alive_ == 0; });
}

size_t CallRegistry::alive() const {
  std::lock_guard lock(mutex_);
  return alive_;
}

}  // namespace weft::xds_sim
