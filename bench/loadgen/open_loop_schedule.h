#pragma once

#include <chrono>
#include <cstdint>

namespace weft::loadgen {

// The fixed send schedule of an open-loop run: request i is due at offsetOf(i) after the start,
// i * (1 s / rate), whatever happened to earlier requests. Latency is measured from that
// intended time, so a slow response delays the measurement of the requests queued behind it
// instead of hiding them (no coordinated omission).
class OpenLoopSchedule {
 public:
  OpenLoopSchedule(double requests_per_second, std::chrono::nanoseconds duration);

  // Requests in the run: those due strictly before the end of the duration.
  std::uint64_t total() const { return total_; }

  std::chrono::nanoseconds offsetOf(std::uint64_t index) const;

  // How many requests are due by `elapsed` (offsetOf(i) <= elapsed), at most total().
  std::uint64_t dueBy(std::chrono::nanoseconds elapsed) const;

 private:
  double nanos_per_request_;
  std::uint64_t total_;
};

}  // namespace weft::loadgen
