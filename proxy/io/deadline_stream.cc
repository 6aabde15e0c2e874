#include "proxy/io/deadline_stream.h"

#include "proxy/io/tls_socket_bio.h"

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

bool DeadlineStream::startTls(SSL* ssl, std::string_view replay) {
  weft::tls::SslPtr owned(ssl);
  error_code ignored;
  state_->socket.non_blocking(true, ignored);
  BIO* bio = newTlsSocketBio(state_->socket.native_handle(), replay);
  if (bio == nullptr) {
    return false;
  }
  SSL_set_bio(ssl, bio, bio);  // one reference serves both directions
  // Partial writes: a large write returns after each record, as write_some
  // should. Released buffers: an idle pooled connection holds no 16 KiB
  // record buffers.
  SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                        SSL_MODE_RELEASE_BUFFERS);
  state_->ssl = std::move(owned);
  return true;
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
