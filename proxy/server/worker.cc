#include "proxy/server/worker.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/log/logger.h"

namespace weft::proxy {

namespace asio = boost::asio;
using boost::system::error_code;

Worker::Worker(uint32_t index, SnapshotPtr snapshot) {
  context_.worker_index = index;
  context_.snapshot = std::move(snapshot);
}

Worker::~Worker() {
  join();
}

std::string Worker::bind(const std::vector<uint16_t>& ports) {
  const auto& listeners = context_.snapshot->listeners;
  for (size_t i = 0; i < listeners.size(); ++i) {
    asio::ip::tcp::endpoint endpoint = listeners[i].address;
    endpoint.port(ports[i]);
    asio::ip::tcp::acceptor acceptor(io_context_);
    error_code error;
    acceptor.open(endpoint.protocol(), error);
    if (!error) {
      acceptor.set_option(asio::socket_base::reuse_address(true), error);
    }
    if (!error && endpoint.address().is_v6()) {
      // An IPv6 listener serves IPv6 only; IPv4 has listeners of its own.
      acceptor.set_option(asio::ip::v6_only(true), error);
    }
    if (!error) {
      // Every worker binds the same address; the kernel balances accepts.
      const int enable = 1;
      if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &enable,
                       sizeof(enable)) != 0) {
        error = error_code(errno, boost::system::system_category());
      }
    }
    if (!error) {
      acceptor.bind(endpoint, error);
    }
    if (!error) {
      acceptor.listen(asio::socket_base::max_listen_connections, error);
    }
    if (error) {
      return "listener '" + listeners[i].name + "': cannot listen on " +
             endpoint.address().to_string() + ":" + std::to_string(endpoint.port()) + ": " +
             error.message();
    }
    acceptors_.push_back(std::move(acceptor));
  }
  return {};
}

std::vector<uint16_t> Worker::boundPorts() const {
  std::vector<uint16_t> ports;
  for (const auto& acceptor : acceptors_) {
    error_code error;
    ports.push_back(acceptor.local_endpoint(error).port());
  }
  return ports;
}

void Worker::start() {
  for (size_t i = 0; i < acceptors_.size(); ++i) {
    asio::co_spawn(io_context_, acceptLoop(i), asio::detached);
  }
  thread_ = std::thread([this] { io_context_.run(); });
}

void Worker::drain(std::chrono::milliseconds deadline) {
  asio::post(io_context_, [this, deadline] {
    context_.draining = true;
    for (auto& acceptor : acceptors_) {
      error_code ignored;
      acceptor.close(ignored);
    }
    context_.upstream_pool.clear();
    // Idle keep-alive connections have nothing in flight: end their wait now.
    for (boost::beast::tcp_stream* stream : context_.idle_connections) {
      stream->cancel();
    }
    drain_timer_ = std::make_unique<asio::steady_timer>(io_context_, deadline);
    drain_timer_->async_wait([this](error_code error) {
      if (!error && open_connections_ > 0) {
        weft::log::logger("worker").info(
            "worker {}: drain deadline reached with {} open "
            "connections; closing them",
            context_.worker_index, open_connections_);
        io_context_.stop();
      }
    });
    if (open_connections_ == 0) {
      drain_timer_->cancel();
    }
  });
}

void Worker::join() {
  if (thread_.joinable()) {
    thread_.join();
  }
}

asio::awaitable<void> Worker::acceptLoop(size_t listener_index) {
  auto& acceptor = acceptors_[listener_index];
  for (;;) {
    auto [error, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (error) {
      if (error == asio::error::operation_aborted || !acceptor.is_open()) {
        co_return;
      }
      // Out of descriptors or memory: retrying at once would spin. Pause, log at
      // most once a second, and keep the listener.
      const auto now = std::chrono::steady_clock::now();
      if (now - last_accept_warning_ > std::chrono::seconds(1)) {
        last_accept_warning_ = now;
        weft::log::logger("worker").warn("accept on listener '{}' failed: {}; pausing accepts",
                                         context_.snapshot->listeners[listener_index].name,
                                         error.message());
      }
      asio::steady_timer pause(io_context_, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    asio::co_spawn(io_context_, runConnection(std::move(socket), listener_index), asio::detached);
  }
}

asio::awaitable<void> Worker::runConnection(asio::ip::tcp::socket socket, size_t listener_index) {
  ++open_connections_;
  // Keep the snapshot that owns this listener's config alive for the connection.
  const SnapshotPtr snapshot = context_.snapshot;
  try {
    co_await serveHttp1Connection(std::move(socket), snapshot->listeners[listener_index], context_);
  } catch (const std::exception& e) {
    // Beast throws on a few limits (e.g. a header value over 64 KiB); the
    // connection ends, the worker and its other connections go on.
    weft::log::logger("worker").error("listener '{}': connection ended by an exception: {}",
                                      snapshot->listeners[listener_index].name, e.what());
  }
  if (--open_connections_ == 0 && context_.draining && drain_timer_) {
    drain_timer_->cancel();
  }
}

}  // namespace weft::proxy
