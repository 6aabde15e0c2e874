#include "proxy/upstream/resilience/retry_budget.h"

#include <cmath>

namespace weft::proxy {

RetryBudget::RetryBudget(const RetryBudgetConfig& config, uint32_t workers, Clock::time_point now)
    : per_request_(std::llround(config.percent / 100.0 * kToken)),
      per_second_(config.min_per_second / std::max<uint32_t>(workers, 1)),
      capacity_(std::llround(std::max(per_second_ * 10.0, 100.0 / std::max<uint32_t>(workers, 1)) *
                             kToken)),
      balance_(std::llround(per_second_ * kToken)),
      last_refill_(now) {}

void RetryBudget::refill(Clock::time_point now) {
  if (now <= last_refill_) {
    return;
  }
  const double seconds = std::chrono::duration<double>(now - last_refill_).count();
  last_refill_ = now;
  const double gained = seconds * per_second_ * kToken;
  balance_ = gained >= static_cast<double>(capacity_ - balance_) ? capacity_
                                                                 : balance_ + std::llround(gained);
}

bool RetryBudget::withdraw(Clock::time_point now) {
  refill(now);
  if (balance_ < kToken) {
    return false;
  }
  balance_ -= kToken;
  return true;
}

}  // namespace weft::proxy
