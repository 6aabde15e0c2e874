#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace weft::xds_sim {

// Counts the gRPC reactors still alive. gRPC keeps calling a reactor until its OnDone, which
// may come after the client cancelled the call, so the channels and stubs must outlive every
// reactor: shutdown cancels the calls and then waits here until the count is zero.
class CallRegistry {
 public:
  void enter();
  void leave();
  // Waits until no call is alive or `timeout` passed; returns whether none is.
  bool waitIdle(std::chrono::milliseconds timeout);
  size_t alive() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable idle_;
  size_t alive_ = 0;
};

}  // namespace weft::xds_sim
