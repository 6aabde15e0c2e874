#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>

namespace weft::controlplane {

// Turns a stream of change notifications into pushes.
//
// An isolated change is pushed at once (leading edge): waiting a fixed quiet period on every
// change would add that period to every convergence, which is what users of a mesh feel most.
// Changes that arrive within `quiet` of the previous push form a burst: they are coalesced
// and pushed when no change has come for `quiet`, and at the latest `max_delay` after the
// first change of the burst, so a steady stream of changes cannot postpone pushes forever.
// Runs on one io_context thread.
class PushDebouncer {
 public:
  using Clock = std::chrono::steady_clock;

  PushDebouncer(boost::asio::io_context& io_context, std::chrono::milliseconds quiet,
                std::chrono::milliseconds max_delay, std::function<void()> push);

  // A change happened.
  void notify();

  uint64_t pushes() const { return pushes_; }
  uint64_t notifications() const { return notifications_; }

 private:
  void arm();
  void fire();

  boost::asio::steady_timer timer_;
  std::chrono::milliseconds quiet_;
  std::chrono::milliseconds max_delay_;
  std::function<void()> push_;
  bool waiting_ = false;  // a trailing push is scheduled
  Clock::time_point burst_start_{};
  Clock::time_point last_change_{};
  Clock::time_point last_push_{};
  bool pushed_before_ = false;
  uint64_t pushes_ = 0;
  uint64_t notifications_ = 0;
};

}  // namespace weft::controlplane
