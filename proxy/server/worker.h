#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "proxy/http1/downstream_session.h"

namespace weft::proxy {

// A listening socket made for one worker: bound, listening, not yet accepting.
struct BoundListener {
  std::string name;
  boost::asio::ip::tcp::endpoint address;
  std::shared_ptr<boost::asio::ip::tcp::acceptor> acceptor;
};

// One worker: an io_context run by one thread, its own listening sockets
// (SO_REUSEPORT, so the kernel spreads connections across workers) and its own
// per-connection, pool and load-balancing state. Workers share nothing but the
// immutable snapshot, so the request path takes no locks.
class Worker {
 public:
  // `metrics`: where the golden metrics it counts go (at each scrape, and when its thread
  // ends); it must outlive the worker. `record_metrics`: false when they are off.
  Worker(uint32_t index, SnapshotPtr snapshot, RequestMetricsRegistry& metrics,
         bool record_metrics = true);
  ~Worker();

  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Opens and binds a listening socket on this worker's io_context. Called on
  // the main thread before the socket is handed to the worker (start() or
  // applySnapshot()). Returns an error message, empty on success.
  std::string bindListener(const ListenerConfig& listener, BoundListener& out);

  // Starts the thread with the initial listeners.
  void start(std::vector<BoundListener> listeners);

  // Thread-safe: from the next request on, the worker serves `snapshot`. It
  // starts accepting on `added` and closes the listeners named in `removed`;
  // connections already open finish their request in flight.
  void applySnapshot(SnapshotPtr snapshot, std::vector<BoundListener> added,
                     std::vector<std::string> removed);

  // Thread-safe: stops accepting, asks open connections to close after their
  // current response, and ends the thread once they have, or at `deadline`.
  void drain(std::chrono::milliseconds deadline);

  // Thread-safe: runs `job` on the worker's thread (e.g. to read per-worker
  // state for the admin endpoint). Never runs if the worker has stopped.
  void post(std::function<void()> job);

  // Thread-safe: on the worker's thread, moves the golden metrics it counted since the last
  // call into the registry, then calls `done` there; at once, on the calling thread, when the
  // worker's thread has ended (it flushed them then).
  void flushRequestMetrics(std::function<void()> done);

  void join();

 private:
  void startAccepting(BoundListener listener);
  // Draining, and the last connection has closed: lets the event loop end.
  void finishDrain();
  boost::asio::awaitable<void> acceptLoop(BoundListener listener);
  boost::asio::awaitable<void> runConnection(boost::asio::ip::tcp::socket socket,
                                             std::string listener_name);

  boost::asio::io_context io_context_{1};
  // Keeps the event loop alive while the worker has no listener (a proxy waiting for its first
  // configuration from the control plane); released when draining begins.
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      keep_running_;
  WorkerContext context_;
  std::map<std::string, BoundListener> listeners_;
  std::unique_ptr<boost::asio::steady_timer> drain_timer_;
  size_t open_connections_ = 0;
  std::chrono::steady_clock::time_point last_accept_warning_{};
  RequestMetricsRegistry& metrics_;
  std::atomic<bool> finished_{false};  // the thread has ended and handed its metrics over
  std::thread thread_;
};

}  // namespace weft::proxy
