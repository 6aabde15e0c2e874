#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <chrono>
#include <memory>

namespace weft::proxy {

// A TCP socket with a deadline: once it passes, the pending read, write or
// connect fails with beast::error::timeout and the socket is closed (as with
// beast::tcp_stream, whose interface this follows, so Beast's HTTP operations
// run on it unchanged).
//
// The difference is the cost per operation. tcp_stream starts and cancels a
// timer around every read and write, and wraps each in a composed operation
// holding type-erased executor work. Here a deadline is a stored time point:
// one timer per stream waits for the earliest deadline that may matter, and
// when it fires it either times the stream out or waits again for the deadline
// now in force. Deadlines on a busy connection only move later, so a relayed
// request sets two time points and touches no timer (decision 24).
class DeadlineStream {
 public:
  using executor_type = boost::asio::any_io_executor;
  using Clock = std::chrono::steady_clock;

  explicit DeadlineStream(const executor_type& executor);
  explicit DeadlineStream(boost::asio::io_context& context)
      : DeadlineStream(executor_type(context.get_executor())) {}
  explicit DeadlineStream(boost::asio::ip::tcp::socket socket);
  DeadlineStream(DeadlineStream&&) noexcept = default;
  DeadlineStream& operator=(DeadlineStream&& other) noexcept;
  ~DeadlineStream();

  executor_type get_executor() noexcept { return state_->socket.get_executor(); }
  boost::asio::ip::tcp::socket& socket() noexcept { return state_->socket; }
  const boost::asio::ip::tcp::socket& socket() const noexcept { return state_->socket; }

  // Operations started or pending after this must finish by `deadline`.
  void expires_at(Clock::time_point deadline);
  void expires_after(Clock::duration timeout) { expires_at(Clock::now() + timeout); }
  void expires_never() {
    state_->deadline = Clock::time_point::max();
    state_->expired = false;
  }

  void close();
  // Ends pending operations with operation_aborted; the socket stays open.
  void cancel() {
    boost::system::error_code ignored;
    state_->socket.cancel(ignored);
  }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
        [](auto handler, const std::shared_ptr<State>& state, const MutableBuffers& sequence) {
          if (startOperation(state, handler)) {
            state->socket.async_read_some(sequence,
                                          Completion<decltype(handler)>{std::move(handler), state});
          }
        },
        token, state_, buffers);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
        [](auto handler, const std::shared_ptr<State>& state, const ConstBuffers& sequence) {
          if (startOperation(state, handler)) {
            state->socket.async_write_some(
                sequence, Completion<decltype(handler)>{std::move(handler), state});
          }
        },
        token, state_, buffers);
  }

  template <class Token>
  auto async_connect(const boost::asio::ip::tcp::endpoint& endpoint, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [](auto handler, const std::shared_ptr<State>& state,
           const boost::asio::ip::tcp::endpoint& peer) {
          if (startOperation<false>(state, handler)) {
            state->socket.async_connect(peer,
                                        Completion<decltype(handler)>{std::move(handler), state});
          }
        },
        token, state_, endpoint);
  }

  // The completion handler of an operation on the socket: maps the abort
  // caused by a timeout to beast::error::timeout. Public only for Asio's
  // associator, which must see through it to the caller's handler.
  struct State {
    explicit State(boost::asio::ip::tcp::socket socket_in)
        : socket(std::move(socket_in)), timer(socket.get_executor()) {}
    boost::asio::ip::tcp::socket socket;
    boost::asio::steady_timer timer;
    Clock::time_point deadline = Clock::time_point::max();
    Clock::time_point timer_due = Clock::time_point::max();  // while `waiting`
    bool waiting = false;                                    // the timer has a wait outstanding
    bool expired = false;     // the deadline passed with nothing pending
    bool timed_out = false;   // the timer closed the socket under a pending operation
    uint32_t pending = 0;     // operations in flight
    uint64_t generation = 0;  // of the timer wait in force; older ones are stale
  };

  template <class Handler>
  struct Completion {
    Handler handler;
    std::shared_ptr<State> state;

    void operator()(boost::system::error_code error, size_t bytes) {
      finish(error);
      std::move(handler)(error, bytes);
    }
    void operator()(boost::system::error_code error) {
      finish(error);
      std::move(handler)(error);
    }
    void finish(boost::system::error_code& error) {
      --state->pending;
      if (error && state->timed_out) {
        error = boost::beast::error::timeout;
      }
    }
  };

 private:
  // Counts the operation in, or completes it at once with a timeout when its
  // deadline passed before it started.
  template <bool WithBytes = true, class Handler>
  static bool startOperation(const std::shared_ptr<State>& state, Handler& handler) {
    if (state->expired) {
      auto executor = state->socket.get_executor();
      if constexpr (WithBytes) {
        boost::asio::post(
            executor, boost::asio::append(std::move(handler),
                                          boost::system::error_code(boost::beast::error::timeout),
                                          size_t{0}));
      } else {
        boost::asio::post(
            executor, boost::asio::append(std::move(handler),
                                          boost::system::error_code(boost::beast::error::timeout)));
      }
      return false;
    }
    ++state->pending;
    return true;
  }

  static void waitFor(const std::shared_ptr<State>& state, Clock::time_point due);
  static void onTimer(const std::shared_ptr<State>& state, uint64_t generation,
                      const boost::system::error_code& error);

  std::shared_ptr<State> state_;
};

}  // namespace weft::proxy

namespace boost::asio {

// The caller's executor, allocator and cancellation slot stay those of the
// handler inside, as with Asio's own handler wrappers.
template <template <typename, typename> class Associator, typename Handler,
          typename DefaultCandidate>
struct associator<Associator, weft::proxy::DeadlineStream::Completion<Handler>, DefaultCandidate>
    : Associator<Handler, DefaultCandidate> {
  static typename Associator<Handler, DefaultCandidate>::type get(
      const weft::proxy::DeadlineStream::Completion<Handler>& completion) noexcept {
    return Associator<Handler, DefaultCandidate>::get(completion.handler);
  }
  static auto get(const weft::proxy::DeadlineStream::Completion<Handler>& completion,
                  const DefaultCandidate& candidate) noexcept
      -> decltype(Associator<Handler, DefaultCandidate>::get(completion.handler, candidate)) {
    return Associator<Handler, DefaultCandidate>::get(completion.handler, candidate);
  }
};

}  // namespace boost::asio
