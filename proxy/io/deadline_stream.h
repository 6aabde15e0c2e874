#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <cerrno>
#include <chrono>
#include <memory>
#include <string_view>
#include <type_traits>

#include "common/tls/openssl_ptr.h"
#include "proxy/io/tls_socket_bio.h"

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
//
// A stream may carry TLS (startTls). Reads and writes then run SSL_read /
// SSL_write over the non-blocking socket (tls_socket_bio.h): a receive into the
// TLS layer's buffer when OpenSSL wants bytes, a wait for room when it cannot
// write, under the same deadlines, so the
// HTTP/1, HTTP/2 and TCP sessions and the upstream pools serve mTLS without
// knowing it. As on a socket, one read and one write may be in flight at once.
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

  // Layers TLS over the connected socket. Takes ownership of `ssl`, which is
  // configured (context, SNI, session to resume); `replay` holds bytes already
  // read from the socket (a sniffed ClientHello), given to TLS first. The
  // handshake comes next. False when memory runs out (`ssl` is freed).
  bool startTls(SSL* ssl, std::string_view replay = {});
  bool hasTls() const noexcept { return state_->ssl != nullptr; }
  // The TLS session, or null for plaintext.
  SSL* tlsHandle() const noexcept { return state_->ssl.get(); }

  // The TLS handshake (the side was set on the SSL: SSL_set_accept_state or
  // SSL_set_connect_state).
  template <class Token>
  auto async_tls_handshake(Token&& token) {
    return initiateTls<TlsStep::kHandshake>(std::forward<Token>(token), NoBuffers{});
  }

  // Sends close_notify: the TLS form of shutting down the sending side. Reads
  // go on until the peer's close_notify (the peer may still be talking).
  template <class Token>
  auto async_tls_shutdown_send(Token&& token) {
    return initiateTls<TlsStep::kShutdown>(std::forward<Token>(token), NoBuffers{});
  }

  // Ends pending operations with operation_aborted; the socket stays open.
  void cancel() {
    boost::system::error_code ignored;
    state_->socket.cancel(ignored);
  }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
        [](auto handler, const std::shared_ptr<State>& state, const MutableBuffers& sequence) {
          if (!startOperation(state, handler)) {
            return;
          }
          if (state->ssl) {
            TlsOperation<Completion<decltype(handler)>, MutableBuffers, TlsStep::kRead>{
                {std::move(handler), state}, state, sequence}
                .attempt();
          } else {
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
          if (!startOperation(state, handler)) {
            return;
          }
          if (state->ssl) {
            TlsOperation<Completion<decltype(handler)>, ConstBuffers, TlsStep::kWrite>{
                {std::move(handler), state}, state, sequence}
                .attempt();
          } else {
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
    weft::tls::SslPtr ssl;  // after startTls; reads and writes the socket's descriptor
    // A write of several small buffers is copied here to go out as one TLS record.
    std::unique_ptr<char[]> write_staging;
    boost::asio::steady_timer timer;
    Clock::time_point deadline = Clock::time_point::max();
    Clock::time_point timer_due = Clock::time_point::max();  // while `waiting`
    bool waiting = false;                                    // the timer has a wait outstanding
    bool receiving = false;   // a TLS operation is filling the TLS layer's receive buffer
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

  enum class TlsStep : uint8_t { kHandshake, kRead, kWrite, kShutdown };
  struct NoBuffers {};
  static constexpr size_t kTlsRecordBytes = 16 * 1024;

  // One TLS read, write, handshake or shutdown: tries the OpenSSL call, and
  // while it wants the socket readable or writable, waits for that and tries
  // again. Completes through `handler` (a Completion), posted when it finishes
  // before its initiating function returns. Public only for Asio's associator.
  template <class Handler, class Buffers, TlsStep Step>
  struct TlsOperation {
    Handler handler;
    std::shared_ptr<State> state;
    Buffers buffers;
    bool initiating = true;

    // After a wait for the socket.
    void operator()(boost::system::error_code error) {
      initiating = false;
      if (error) {
        finish(error, 0);
        return;
      }
      attempt();
    }

    // After a receive into the TLS layer's buffer.
    void operator()(boost::system::error_code error, size_t bytes) {
      initiating = false;
      state->receiving = false;
      BIO* bio = SSL_get_rbio(state->ssl.get());
      if (error == boost::asio::error::eof) {
        tlsBioReceivedEof(bio);  // TLS tells a clean close_notify from a truncation
      } else if (error) {
        finish(error, 0);
        return;
      } else {
        tlsBioReceived(bio, bytes);
      }
      attempt();
    }

    void attempt() {
      if (!state->socket.is_open()) {
        // Closed (by the deadline, or by the owner): the descriptor number the
        // TLS layer holds may already belong to another socket.
        finish(boost::asio::error::operation_aborted, 0);
        return;
      }
      SSL* ssl = state->ssl.get();
      // SSL_get_error() reads the thread's error queue, so it must start empty.
      // Peeking first: clearing walks every slot of the queue, and it is
      // almost always empty already, since every failure below clears it.
      if (ERR_peek_error() != 0) {
        ERR_clear_error();
      }
      int result = 0;
      size_t bytes = 0;
      if constexpr (Step == TlsStep::kRead) {
        const boost::asio::mutable_buffer buffer = firstBuffer<boost::asio::mutable_buffer>();
        if (buffer.size() == 0) {
          finish({}, 0);
          return;
        }
        result = SSL_read_ex(ssl, buffer.data(), buffer.size(), &bytes);
      } else if constexpr (Step == TlsStep::kWrite) {
        const boost::asio::const_buffer buffer = stagedWrite();
        if (buffer.size() == 0) {
          finish({}, 0);
          return;
        }
        result = SSL_write_ex(ssl, buffer.data(), buffer.size(), &bytes);
      } else if constexpr (Step == TlsStep::kHandshake) {
        result = SSL_do_handshake(ssl);
      } else {
        // 0: close_notify sent, the peer's not received yet: done for our side.
        result = SSL_shutdown(ssl) >= 0 ? 1 : -1;
      }
      const int saved_errno = errno;
      if (result == 1) {
        finish({}, bytes);
        return;
      }
      switch (SSL_get_error(ssl, result)) {
        case SSL_ERROR_WANT_READ:
          receive();
          return;
        case SSL_ERROR_WANT_WRITE:
          wait(boost::asio::ip::tcp::socket::wait_write);
          return;
        case SSL_ERROR_ZERO_RETURN:
          finish(boost::asio::error::eof, 0);  // the peer's close_notify
          return;
        case SSL_ERROR_SYSCALL:
          finish(saved_errno != 0
                     ? boost::system::error_code(saved_errno, boost::system::system_category())
                     : boost::system::error_code(boost::asio::error::eof),
                 0);
          return;
        default: {
          const unsigned long code = ERR_peek_last_error();
          ERR_clear_error();
          // A peer that closes without close_notify ends the stream as TCP
          // would; the HTTP layers detect truncated messages themselves.
          if (ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            finish(boost::asio::error::eof, 0);
          } else {
            finish(boost::system::error_code(static_cast<int>(code),
                                             boost::asio::error::get_ssl_category()),
                   0);
          }
          return;
        }
      }
    }

    template <class Buffer>
    Buffer firstBuffer() const {
      for (auto it = boost::asio::buffer_sequence_begin(buffers);
           it != boost::asio::buffer_sequence_end(buffers); ++it) {
        Buffer buffer(*it);
        if (buffer.size() > 0) {
          return buffer;
        }
      }
      return Buffer();
    }

    // The bytes of this write: the first buffer when it fills a record or is
    // alone, else as much of the sequence as one record holds, copied, so a
    // message head and its body go out together.
    boost::asio::const_buffer stagedWrite() {
      const boost::asio::const_buffer first = firstBuffer<boost::asio::const_buffer>();
      if (first.size() >= kTlsRecordBytes || boost::asio::buffer_size(buffers) == first.size()) {
        return first;
      }
      if (!state->write_staging) {
        state->write_staging = std::make_unique_for_overwrite<char[]>(kTlsRecordBytes);
      }
      const size_t copied = boost::asio::buffer_copy(
          boost::asio::buffer(state->write_staging.get(), kTlsRecordBytes), buffers);
      return boost::asio::const_buffer(state->write_staging.get(), copied);
    }

    void wait(boost::asio::ip::tcp::socket::wait_type type) {
      initiating = false;
      auto& socket = state->socket;
      socket.async_wait(type, std::move(*this));
    }

    // Fills the TLS layer's buffer from the socket. Only one operation receives at a time;
    // another that wants bytes meanwhile (a write finishing a key update, rare) waits for
    // readability and retries after the receive delivered them.
    void receive() {
      if (state->receiving) {
        wait(boost::asio::ip::tcp::socket::wait_read);
        return;
      }
      initiating = false;
      state->receiving = true;
      auto& socket = state->socket;
      const boost::asio::mutable_buffer space = tlsBioReceiveSpace(SSL_get_rbio(state->ssl.get()));
      socket.async_receive(space, std::move(*this));
    }

    void finish(boost::system::error_code error, size_t bytes) {
      if (initiating) {
        auto executor = state->socket.get_executor();
        if constexpr (std::is_same_v<Buffers, NoBuffers>) {
          boost::asio::post(executor, boost::asio::append(std::move(handler), error));
        } else {
          boost::asio::post(executor, boost::asio::append(std::move(handler), error, bytes));
        }
        return;
      }
      if constexpr (std::is_same_v<Buffers, NoBuffers>) {
        std::move(handler)(error);
      } else {
        std::move(handler)(error, bytes);
      }
    }
  };

 private:
  template <TlsStep Step, class Token>
  auto initiateTls(Token&& token, NoBuffers) {
    return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
        [](auto handler, const std::shared_ptr<State>& state) {
          if (startOperation<false>(state, handler)) {
            TlsOperation<Completion<decltype(handler)>, NoBuffers, Step>{
                {std::move(handler), state}, state, NoBuffers{}}
                .attempt();
          }
        },
        token, state_);
  }

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

template <template <typename, typename> class Associator, typename Handler, typename Buffers,
          weft::proxy::DeadlineStream::TlsStep Step, typename DefaultCandidate>
struct associator<Associator, weft::proxy::DeadlineStream::TlsOperation<Handler, Buffers, Step>,
                  DefaultCandidate> : Associator<Handler, DefaultCandidate> {
  static typename Associator<Handler, DefaultCandidate>::type get(
      const weft::proxy::DeadlineStream::TlsOperation<Handler, Buffers, Step>& operation) noexcept {
    return Associator<Handler, DefaultCandidate>::get(operation.handler);
  }
  static auto get(
      const weft::proxy::DeadlineStream::TlsOperation<Handler, Buffers, Step>& operation,
      const DefaultCandidate& candidate) noexcept
      -> decltype(Associator<Handler, DefaultCandidate>::get(operation.handler, candidate)) {
    return Associator<Handler, DefaultCandidate>::get(operation.handler, candidate);
  }
};

}  // namespace boost::asio
