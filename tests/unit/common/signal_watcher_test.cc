#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <csignal>
#include <memory>
#include <vector>

#include "common/signals/signal_watcher.h"

namespace weft {
namespace {

using namespace std::chrono_literals;

class SignalWatcherTest : public ::testing::Test {
 protected:
  // Runs the io_context until a callback calls done() or the deadline passes, so a signal that
  // never arrives fails the test instead of hanging it.
  void run(std::chrono::milliseconds deadline = 5s) {
    boost::asio::steady_timer timer(io_context_, deadline);
    timer.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) {
        timed_out_ = true;
        io_context_.stop();
      }
    });
    io_context_.run();
    io_context_.restart();
  }

  void done() { io_context_.stop(); }

  boost::asio::io_context io_context_;
  bool timed_out_ = false;
};

TEST_F(SignalWatcherTest, ReloadIsDeliveredForEachSighup) {
  std::vector<int> reloads;
  SignalWatcher watcher(
      io_context_, [](int) { FAIL() << "unexpected shutdown"; },
      [&](int signal_number) {
        reloads.push_back(signal_number);
        if (reloads.size() == 1) {
          // The wait was re-armed before this callback, so the second signal is seen too.
          std::raise(SIGHUP);
        } else {
          done();
        }
      });
  std::raise(SIGHUP);
  run();
  EXPECT_FALSE(timed_out_);
  EXPECT_EQ(reloads, (std::vector<int>{SIGHUP, SIGHUP}));
}

TEST_F(SignalWatcherTest, SignalsRaisedBeforeRunAreQueued) {
  int reloads = 0;
  SignalWatcher watcher(io_context_, nullptr, [&](int) {
    if (++reloads == 2) {
      done();
    }
  });
  std::raise(SIGHUP);
  std::raise(SIGHUP);
  run();
  EXPECT_FALSE(timed_out_);
  EXPECT_EQ(reloads, 2);
}

TEST_F(SignalWatcherTest, SigtermTriggersShutdown) {
  std::vector<int> shutdowns;
  int reloads = 0;
  SignalWatcher watcher(
      io_context_,
      [&](int signal_number) {
        shutdowns.push_back(signal_number);
        done();
      },
      [&](int) { ++reloads; });
  std::raise(SIGTERM);
  run();
  EXPECT_FALSE(timed_out_);
  EXPECT_EQ(shutdowns, std::vector<int>{SIGTERM});
  EXPECT_EQ(reloads, 0);
}

TEST_F(SignalWatcherTest, SigintTriggersShutdown) {
  std::vector<int> shutdowns;
  SignalWatcher watcher(
      io_context_,
      [&](int signal_number) {
        shutdowns.push_back(signal_number);
        done();
      },
      nullptr);
  std::raise(SIGINT);
  run();
  EXPECT_FALSE(timed_out_);
  EXPECT_EQ(shutdowns, std::vector<int>{SIGINT});
}

TEST_F(SignalWatcherTest, MissingCallbackIgnoresSignal) {
  int shutdowns = 0;
  SignalWatcher watcher(
      io_context_,
      [&](int) {
        ++shutdowns;
        done();
      },
      nullptr);
  std::raise(SIGHUP);  // consumed, no reload callback
  std::raise(SIGTERM);
  run();
  EXPECT_FALSE(timed_out_);
  EXPECT_EQ(shutdowns, 1);
}

TEST_F(SignalWatcherTest, StopDropsSignalNotYetDispatched) {
  int calls = 0;
  SignalWatcher watcher(
      io_context_, [&](int) { ++calls; }, [&](int) { ++calls; });
  std::raise(SIGHUP);  // received by the handler, but the io_context has not run yet
  watcher.stop();
  EXPECT_FALSE(watcher.watching());
  watcher.stop();  // idempotent
  // With the watcher stopped nothing keeps the io_context busy but the deadline; give any stray
  // completion a chance to run, then finish.
  boost::asio::steady_timer settle(io_context_, 50ms);
  settle.async_wait([&](const boost::system::error_code&) { done(); });
  run();
  EXPECT_EQ(calls, 0);
}

TEST_F(SignalWatcherTest, StopFromCallbackEndsWatching) {
  int reloads = 0;
  std::unique_ptr<SignalWatcher> watcher;
  watcher = std::make_unique<SignalWatcher>(io_context_, nullptr, [&](int) {
    ++reloads;
    watcher->stop();
    // Nothing is left to wait on but the deadline; finish once pending handlers ran.
    boost::asio::post(io_context_, [this] { done(); });
  });
  std::raise(SIGHUP);
  run();
  EXPECT_FALSE(timed_out_);
  EXPECT_EQ(reloads, 1);
  EXPECT_FALSE(watcher->watching());
}

TEST_F(SignalWatcherTest, DestroyFromCallbackIsSafe) {
  int shutdowns = 0;
  std::unique_ptr<SignalWatcher> watcher;
  watcher = std::make_unique<SignalWatcher>(
      io_context_,
      [&](int) {
        ++shutdowns;
        watcher.reset();
        boost::asio::post(io_context_, [this] { done(); });
      },
      nullptr);
  std::raise(SIGTERM);
  run();
  EXPECT_FALSE(timed_out_);
  EXPECT_EQ(shutdowns, 1);
  EXPECT_EQ(watcher, nullptr);
}

TEST(SignalWatcherDeathTest, StopRestoresDefaultAction) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        boost::asio::io_context io_context;
        SignalWatcher watcher(io_context, nullptr, nullptr);
        watcher.stop();
        std::raise(SIGTERM);
        std::exit(0);  // not reached: SIGTERM terminates the process again
      },
      ::testing::KilledBySignal(SIGTERM), "");
}

}  // namespace
}  // namespace weft
