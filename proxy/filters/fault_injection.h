#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "proxy/router/request_match.h"
#include "proxy/router/request_view.h"

namespace weft::proxy {

// A route's FaultInjection, compiled. Shares are in parts per million so that
// a draw is one integer comparison.
struct FaultConfig {
  static constexpr uint32_t kMillion = 1'000'000;

  std::chrono::milliseconds delay{0};  // 0: no delay fault
  uint32_t delay_share = kMillion;
  unsigned abort_http_status = 0;  // 0: no abort fault (unless abort_grpc_status)
  int abort_grpc_status = -1;      // for gRPC requests; others get 503
  uint32_t abort_share = kMillion;
  std::vector<HeaderMatchConfig> headers;  // all must match; empty: every request
  bool header_controlled = false;
  uint32_t max_active = 0;  // 0: no limit
  // Requests delayed or aborted right now, in all workers: the one counter the
  // faults share, touched only by requests that get a fault.
  mutable std::atomic<uint32_t> active{0};
};

// What a request gets from a route's faults.
struct FaultVerdict {
  std::chrono::milliseconds delay{0};
  unsigned abort_status = 0;  // 0: no abort
  int abort_grpc_status = -1;
  bool any() const { return delay.count() > 0 || abort_status != 0; }
};

// Decides a request's faults: the header conditions, then one draw per fault
// against its share (`delay_draw`, `abort_draw`: uniform in [0, 1,000,000)),
// with header_controlled letting x-weft-fault-delay-ms and x-weft-fault-abort
// replace the configured delay and status. Within max_active, a request that
// gets a fault counts in `active` until FaultActivity releases it.
FaultVerdict decideFault(const FaultConfig& config, const RequestView& request, bool grpc,
                         uint32_t delay_draw, uint32_t abort_draw, std::string& scratch);

// Holds one place of a FaultConfig's max_active while a faulted request runs.
class FaultActivity {
 public:
  FaultActivity() = default;
  explicit FaultActivity(const FaultConfig* config) : config_(config) {}
  FaultActivity(const FaultActivity&) = delete;
  FaultActivity& operator=(const FaultActivity&) = delete;
  FaultActivity(FaultActivity&& other) noexcept : config_(other.config_) {
    other.config_ = nullptr;
  }
  FaultActivity& operator=(FaultActivity&& other) noexcept {
    release();
    config_ = other.config_;
    other.config_ = nullptr;
    return *this;
  }
  ~FaultActivity() { release(); }

 private:
  void release() {
    if (config_ != nullptr) {
      config_->active.fetch_sub(1, std::memory_order_relaxed);
      config_ = nullptr;
    }
  }
  const FaultConfig* config_ = nullptr;
};

}  // namespace weft::proxy
