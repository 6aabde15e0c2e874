#include "proxy/io/deadline_stream.h"

namespace weft::proxy {

namespace asio = boost::asio;
using boost::system::error_code;

DeadlineStream::DeadlineStream(const executor_type& executor)
    : state_(std::make_shared<State>(asio::ip::tcp::socket(executor))) {}

DeadlineStream::DeadlineStream(asio::ip::tcp::socket socket)
    : state_(std::make_shared<State>(std::move(socket))) {}

DeadlineStream& DeadlineStream::operator=(DeadlineStream&& other) noexcept {
  if (this != &other) {
    close();
    state_ = std::move(other.state_);
  }
  return *this;
}

DeadlineStream::~DeadlineStream() {
  close();
}

void DeadlineStream::close() {
  if (!state_) {
    return;  // moved from
  }
  error_code ignored;
  state_->socket.close(ignored);
  // The wait's handler holds the state; cancelling lets it go now rather than
  // at the deadline.
  state_->timer.cancel();
  state_->waiting = false;
  ++state_->generation;
}

void DeadlineStream::expires_at(Clock::time_point deadline) {
  State& state = *state_;
  state.deadline = deadline;
  state.expired = false;
  state.timed_out = false;
  if (deadline == Clock::time_point::max()) {
    return;
  }
  // A wait already due no later than this deadline will look again when it
  // fires; only an earlier deadline needs the timer moved.
  if (!state.waiting || state.timer_due > deadline) {
    waitFor(state_, deadline);
  }
}

void DeadlineStream::waitFor(const std::shared_ptr<State>& state, Clock::time_point due) {
  state->timer.expires_at(due);  // a wait outstanding completes as aborted, and is stale
  state->timer_due = due;
  state->waiting = true;
  const uint64_t generation = ++state->generation;
  state->timer.async_wait(
      [state, generation](const error_code& error) { onTimer(state, generation, error); });
}

void DeadlineStream::onTimer(const std::shared_ptr<State>& state, uint64_t generation,
                             const error_code& error) {
  if (generation != state->generation) {
    return;  // replaced by a wait for an earlier deadline, or the stream closed
  }
  state->waiting = false;
  if (error || state->deadline == Clock::time_point::max()) {
    return;
  }
  if (Clock::now() < state->deadline) {
    waitFor(state, state->deadline);  // the deadline moved on meanwhile
    return;
  }
  if (state->pending == 0) {
    state->expired = true;  // the next operation fails at once
    return;
  }
  state->timed_out = true;
  error_code ignored;
  state->socket.close(ignored);
}

}  // namespace weft::proxy
