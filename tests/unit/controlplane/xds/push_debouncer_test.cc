#include "controlplane/xds/push_debouncer.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace weft::controlplane {
namespace {

using namespace std::chrono_literals;

// Behaviour, not timing: the test counts pushes, and only waits for the debouncer's own
// timers to run out.
TEST(PushDebouncerTest, IsolatedChangeIsPushedAtOnce) {
  boost::asio::io_context io;
  int pushes = 0;
  PushDebouncer debouncer(io, 50ms, 1s, [&] { ++pushes; });
  debouncer.notify();
  EXPECT_EQ(pushes, 1);  // synchronously, before the loop runs
}

TEST(PushDebouncerTest, BurstIsCoalescedIntoOneTrailingPush) {
  boost::asio::io_context io;
  int pushes = 0;
  PushDebouncer debouncer(io, 50ms, 1s, [&] { ++pushes; });
  debouncer.notify();
  for (int i = 0; i < 20; ++i) {
    debouncer.notify();
  }
  EXPECT_EQ(pushes, 1);
  io.run();  // until the trailing timer fires
  EXPECT_EQ(pushes, 2);
  EXPECT_EQ(debouncer.notifications(), 21u);
}

TEST(PushDebouncerTest, SteadyStreamStillPushesByMaxDelay) {
  boost::asio::io_context io;
  int pushes = 0;
  PushDebouncer debouncer(io, 40ms, 120ms, [&] { ++pushes; });
  debouncer.notify();
  // Keep notifying every 10 ms for a long while: the quiet period never comes, yet pushes
  // happen, bounded by max_delay.
  boost::asio::steady_timer ticker(io);
  int ticks = 0;
  std::function<void()> tick = [&] {
    debouncer.notify();
    if (++ticks < 60) {
      ticker.expires_after(10ms);
      ticker.async_wait([&](auto) { tick(); });
    }
  };
  tick();
  io.run();
  EXPECT_GE(pushes, 3);      // the leading push, at least one max_delay push, the trailing one
  EXPECT_LT(pushes, ticks);  // but coalesced
}

}  // namespace
}  // namespace weft::controlplane
