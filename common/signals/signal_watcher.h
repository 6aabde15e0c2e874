#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>

namespace weft {

// Turns process signals into callbacks on an io_context:
//   SIGTERM, SIGINT -> on_shutdown (drain and exit)
//   SIGHUP          -> on_reload (re-read configuration and certificates)
// The callback receives the signal number. Watching starts in the constructor and each wait is
// re-armed before the callback runs, so repeated signals are all delivered and one that arrives
// while a callback runs is queued rather than lost. A second SIGTERM is delivered like the first;
// the caller decides whether it means "exit now".
//
// Runs callbacks on the io_context's thread(s); construct, stop() and destroy it on that thread
// too (or while the io_context is not running), as with any Asio I/O object. The io_context
// must outlive the watcher.
class SignalWatcher {
 public:
  using Callback = std::function<void(int signal_number)>;

  // Either callback may be empty, in which case that signal is consumed and ignored.
  // Throws boost::system::system_error if the signal handlers cannot be installed, which only
  // happens at start-up.
  SignalWatcher(boost::asio::io_context& io_context, Callback on_shutdown, Callback on_reload);
  ~SignalWatcher();

  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  // Stops watching: no callback runs after this returns, not even for a signal already received
  // but not yet dispatched, and the signals get their default action back (a later SIGTERM
  // terminates the process). Idempotent; may be called from inside a callback.
  void stop();

  bool watching() const;

 private:
  struct State;
  static void arm(std::shared_ptr<State> state);

  // Shared with the pending wait so that a completion already queued on the io_context when
  // the watcher is destroyed finds live state (and the stopped flag) rather than a dangling
  // pointer.
  std::shared_ptr<State> state_;
};

}  // namespace weft
