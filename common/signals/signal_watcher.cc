#include "common/signals/signal_watcher.h"

#include <boost/asio/signal_set.hpp>
#include <csignal>

namespace weft {

struct SignalWatcher::State {
  State(boost::asio::io_context& io_context, Callback shutdown, Callback reload)
      : signals(io_context, SIGTERM, SIGINT, SIGHUP),
        on_shutdown(std::move(shutdown)),
        on_reload(std::move(reload)) {}

  boost::asio::signal_set signals;
  const Callback on_shutdown;
  const Callback on_reload;
  bool stopped = false;
};

SignalWatcher::SignalWatcher(boost::asio::io_context& io_context, Callback on_shutdown,
                             Callback on_reload)
    : state_(std::make_shared<State>(io_context, std::move(on_shutdown), std::move(on_reload))) {
  arm(state_);
}

SignalWatcher::~SignalWatcher() {
  stop();
}

void SignalWatcher::arm(std::shared_ptr<State> state) {
  boost::asio::signal_set& signals = state->signals;
  signals.async_wait(
      [state = std::move(state)](const boost::system::error_code& ec, int signal_number) {
        // A completion can already be queued when stop() runs; the flag drops it.
        if (ec || state->stopped) {
          return;
        }
        // Re-arm first: a callback that calls stop() then cancels this new wait, and a signal
        // arriving while the callback runs waits in the signal_set's queue.
        arm(state);
        const Callback& callback = signal_number == SIGHUP ? state->on_reload : state->on_shutdown;
        if (callback) {
          callback(signal_number);
        }
      });
}

void SignalWatcher::stop() {
  if (state_->stopped) {
    return;
  }
  state_->stopped = true;
  boost::system::error_code ignored;
  state_->signals.cancel(ignored);
  // Removing the last registration of a signal restores its default disposition.
  state_->signals.clear(ignored);
}

bool SignalWatcher::watching() const {
  return !state_->stopped;
}

}  // namespace weft
