#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "proxy/http1/downstream_session.h"

namespace weft::proxy {

// One worker: an io_context run by one thread, its own listening sockets
// (SO_REUSEPORT, so the kernel spreads connections across workers) and its own
// per-connection and load-balancing state. Workers share nothing but the
// immutable snapshot, so the request path takes no locks.
class Worker {
 public:
  Worker(uint32_t index, SnapshotPtr snapshot);
  ~Worker();

  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Binds one socket per listener; `ports` gives the port to bind for each
  // listener (the first worker resolves port 0 and the others reuse its choice).
  // Returns an error message, empty on success. Called before start().
  std::string bind(const std::vector<uint16_t>& ports);

  // The port each listener is bound to, in snapshot order.
  std::vector<uint16_t> boundPorts() const;

  // Starts the thread: accept loops run until drain().
  void start();

  // Thread-safe: stops accepting, asks open connections to close after their
  // current response, and ends the thread once they have, or at `deadline`.
  void drain(std::chrono::milliseconds deadline);

  void join();

 private:
  boost::asio::awaitable<void> acceptLoop(size_t listener_index);
  boost::asio::awaitable<void> runConnection(boost::asio::ip::tcp::socket socket,
                                             size_t listener_index);

  boost::asio::io_context io_context_{1};
  WorkerContext context_;
  std::vector<boost::asio::ip::tcp::acceptor> acceptors_;
  std::unique_ptr<boost::asio::steady_timer> drain_timer_;
  size_t open_connections_ = 0;
  std::chrono::steady_clock::time_point last_accept_warning_{};
  std::thread thread_;
};

}  // namespace weft::proxy
