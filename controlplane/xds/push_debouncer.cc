#include "controlplane/xds/push_debouncer.h"

#include <algorithm>

namespace weft::controlplane {

PushDebouncer::PushDebouncer(boost::asio::io_context& io_context, std::chrono::milliseconds quiet,
                             std::chrono::milliseconds max_delay, std::function<void()> push)
    : timer_(io_context),
      quiet_(quiet),
      max_delay_(std::max(max_delay, quiet)),
      push_(std::move(push)) {}

void PushDebouncer::notify() {
  ++notifications_;
  const Clock::time_point now = Clock::now();
  last_change_ = now;
  if (waiting_) {
    arm();  // the burst goes on: move the trailing push, within max_delay
    return;
  }
  if (!pushed_before_ || now - last_push_ >= quiet_) {
    fire();  // isolated change
    return;
  }
  waiting_ = true;
  burst_start_ = now;
  arm();
}

void PushDebouncer::arm() {
  const Clock::time_point deadline = std::min(last_change_ + quiet_, burst_start_ + max_delay_);
  timer_.expires_at(deadline);
  timer_.async_wait([this](const boost::system::error_code& error) {
    if (error || !waiting_) {
      return;  // cancelled by a re-arm; that wait's handler fires instead
    }
    waiting_ = false;
    fire();
  });
}

void PushDebouncer::fire() {
  last_push_ = Clock::now();
  pushed_before_ = true;
  ++pushes_;
  push_();
}

}  // namespace weft::controlplane
