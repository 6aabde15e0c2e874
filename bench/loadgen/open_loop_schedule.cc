#include "bench/loadgen/open_loop_schedule.h"

#include <algorithm>
#include <cmath>

namespace weft::loadgen {

OpenLoopSchedule::OpenLoopSchedule(double requests_per_second, std::chrono::nanoseconds duration)
    : nanos_per_request_(requests_per_second > 0 ? 1e9 / requests_per_second : 0), total_(0) {
  if (requests_per_second <= 0 || duration.count() <= 0) {
    return;
  }
  // Count the offsets that fall before the end, with the same rounding offsetOf() uses.
  total_ = static_cast<std::uint64_t>(
      std::ceil(static_cast<double>(duration.count()) / nanos_per_request_));
  while (total_ > 0 && offsetOf(total_ - 1) >= duration) {
    --total_;
  }
  while (offsetOf(total_) < duration) {
    ++total_;
  }
}

std::chrono::nanoseconds OpenLoopSchedule::offsetOf(std::uint64_t index) const {
  return std::chrono::nanoseconds(std::llround(static_cast<double>(index) * nanos_per_request_));
}

std::uint64_t OpenLoopSchedule::dueBy(std::chrono::nanoseconds elapsed) const {
  if (elapsed.count() < 0 || total_ == 0) {
    return 0;
  }
  // An estimate from the rate, corrected against offsetOf() so both always agree.
  auto due = static_cast<std::uint64_t>(
      std::min(static_cast<double>(total_),
               std::floor(static_cast<double>(elapsed.count()) / nanos_per_request_) + 1));
  while (due > 0 && offsetOf(due - 1) > elapsed) {
    --due;
  }
  while (due < total_ && offsetOf(due) <= elapsed) {
    ++due;
  }
  return due;
}

}  // namespace weft::loadgen
