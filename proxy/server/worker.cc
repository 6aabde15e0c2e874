#include "proxy/server/worker.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

#include "common/log/logger.h"
#include "proxy/http2/client_connection_pool.h"
#include "proxy/http2/stream_idle_watch.h"
#include "proxy/listener/connection_handler.h"

namespace weft::proxy {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

spdlog::logger& workerLog() {
  static spdlog::logger& logger = weft::log::logger("worker");
  return logger;
}

// What this worker learned about each cluster's endpoints (outlier ejections, the retry budget)
// goes on in the config that replaces it: config updates are frequent in a cluster and must
// not readmit an ejected endpoint or refill a spent budget. Runs once per update, on the
// worker's thread, off the request path.
void carryClusterState(const Snapshot& previous, const Snapshot& current, uint32_t worker_index) {
  for (const auto& [name, cluster] : current.clusters) {
    const auto before = previous.clusters.find(name);
    if (before != previous.clusters.end()) {
      cluster->adoptWorkerState(*before->second, worker_index);
    }
  }
}

}  // namespace

Worker::Worker(uint32_t index, SnapshotPtr snapshot, RequestMetricsRegistry& metrics,
               bool record_metrics)
    : metrics_(metrics) {
  context_.worker_index = index;
  context_.snapshot = std::move(snapshot);
  context_.request_metrics.setBuckets(metrics.buckets());
  context_.request_metrics.setEnabled(record_metrics);
}

Worker::~Worker() {
  join();
}

std::string Worker::bindListener(const ListenerConfig& listener, BoundListener& out) {
  const asio::ip::tcp::endpoint& endpoint = listener.address;
  auto acceptor = std::make_shared<asio::ip::tcp::acceptor>(io_context_);
  error_code error;
  acceptor->open(endpoint.protocol(), error);
  if (!error) {
    acceptor->set_option(asio::socket_base::reuse_address(true), error);
  }
  if (!error && endpoint.address().is_v6()) {
    // An IPv6 listener serves IPv6 only; IPv4 has listeners of its own.
    acceptor->set_option(asio::ip::v6_only(true), error);
  }
  if (!error) {
    // Every worker binds the same address; the kernel balances accepts.
    const int enable = 1;
    if (::setsockopt(acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &enable,
                     sizeof(enable)) != 0) {
      error = error_code(errno, boost::system::system_category());
    }
  }
  if (!error) {
    acceptor->bind(endpoint, error);
  }
  if (!error) {
    acceptor->listen(static_cast<int>(listener.backlog), error);
  }
  if (error) {
    return "listener '" + listener.name + "': cannot listen on " + endpoint.address().to_string() +
           ":" + std::to_string(endpoint.port()) + ": " + error.message();
  }
  out = BoundListener{listener.name, endpoint, std::move(acceptor)};
  return {};
}

void Worker::start(std::vector<BoundListener> listeners) {
  for (BoundListener& listener : listeners) {
    startAccepting(std::move(listener));
  }
  keep_running_.emplace(io_context_.get_executor());
  thread_ = std::thread([this] {
    io_context_.run();
    // Drained: what it counted since the last scrape stays visible, and scrapes stop asking.
    context_.request_metrics.flushInto(metrics_);
    finished_.store(true, std::memory_order_release);
  });
}

void Worker::post(std::function<void()> job) {
  asio::post(io_context_, std::move(job));
}

void Worker::flushRequestMetrics(std::function<void()> done) {
  if (finished_.load(std::memory_order_acquire)) {
    done();
    return;
  }
  asio::post(io_context_, [this, done = std::move(done)] {
    context_.request_metrics.flushInto(metrics_);
    done();
  });
}

void Worker::startAccepting(BoundListener listener) {
  asio::co_spawn(io_context_, acceptLoop(listener), asio::detached);
  listeners_[listener.name] = std::move(listener);
}

void Worker::applySnapshot(SnapshotPtr snapshot, std::vector<BoundListener> added,
                           std::vector<std::string> removed) {
  asio::post(io_context_, [this, snapshot = std::move(snapshot), added = std::move(added),
                           removed = std::move(removed)]() mutable {
    for (const std::string& name : removed) {
      auto it = listeners_.find(name);
      if (it != listeners_.end()) {
        error_code ignored;
        it->second.acceptor->close(ignored);  // its accept loop ends and drops it
        listeners_.erase(it);
      }
    }
    const SnapshotPtr previous = std::exchange(context_.snapshot, std::move(snapshot));
    if (previous) {
      carryClusterState(*previous, *context_.snapshot, context_.worker_index);
    }
    // Pooled connections may lead to endpoints the new config no longer has.
    context_.upstream_pool.clear();
    if (context_.http2_upstream_pool) {
      context_.http2_upstream_pool->retireAll();
    }
    if (context_.draining) {
      return;
    }
    for (BoundListener& listener : added) {
      startAccepting(std::move(listener));
    }
  });
}

void Worker::drain(std::chrono::milliseconds deadline) {
  asio::post(io_context_, [this, deadline] {
    context_.draining = true;
    keep_running_.reset();
    for (auto& [name, listener] : listeners_) {
      error_code ignored;
      listener.acceptor->close(ignored);
    }
    listeners_.clear();
    context_.upstream_pool.clear();
    if (context_.http2_upstream_pool) {
      context_.http2_upstream_pool->retireAll();  // each closes once its streams end
    }
    // Idle keep-alive connections have nothing in flight: end their wait now.
    context_.idle_connections.cancelAll();
    drain_timer_ = std::make_unique<asio::steady_timer>(io_context_, deadline);
    drain_timer_->async_wait([this](error_code error) {
      if (!error && open_connections_ > 0) {
        workerLog().info("worker {}: drain deadline reached with {} open connections; closing them",
                         context_.worker_index, open_connections_);
        io_context_.stop();
      }
    });
    if (open_connections_ == 0) {
      finishDrain();
    }
  });
}

void Worker::finishDrain() {
  // Nothing may keep the event loop running once the last connection is gone. Requests that
  // were in flight when the drain began may have opened upstream connections since (the pools
  // were emptied then): an idle HTTP/2 connection waits for frames, and would keep the loop,
  // and the process, alive for good once the deadline timer is cancelled.
  drain_timer_->cancel();
  context_.upstream_pool.clear();
  if (context_.http2_upstream_pool) {
    context_.http2_upstream_pool->retireAll();
  }
  if (context_.stream_idle_watcher) {
    context_.stream_idle_watcher->stop();
  }
  if (context_.span_exporter) {
    context_.span_exporter->stop();  // sends what is queued, then ends
  }
}

void Worker::join() {
  if (thread_.joinable()) {
    thread_.join();
  }
}

asio::awaitable<void> Worker::acceptLoop(BoundListener listener) {
  // `listener` holds a reference to the acceptor, so closing it from
  // applySnapshot() or drain() ends this loop without a dangling socket.
  for (;;) {
    auto [error, socket] =
        co_await listener.acceptor->async_accept(asio::as_tuple(asio::use_awaitable));
    if (error) {
      if (error == asio::error::operation_aborted || !listener.acceptor->is_open()) {
        co_return;
      }
      // Out of descriptors or memory: retrying at once would spin. Pause, log at
      // most once a second, and keep the listener.
      const auto now = std::chrono::steady_clock::now();
      if (now - last_accept_warning_ > std::chrono::seconds(1)) {
        last_accept_warning_ = now;
        workerLog().warn("accept on listener '{}' failed: {}; pausing accepts", listener.name,
                         error.message());
      }
      asio::steady_timer pause(io_context_, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    asio::co_spawn(io_context_, runConnection(std::move(socket), listener.name), asio::detached);
  }
}

asio::awaitable<void> Worker::runConnection(asio::ip::tcp::socket socket,
                                            std::string listener_name) {
  ++open_connections_;
  try {
    co_await handleConnection(std::move(socket), listener_name, context_);
  } catch (const std::exception& e) {
    // Beast throws on a few limits (e.g. a header value over 64 KiB); the
    // connection ends, the worker and its other connections go on.
    workerLog().error("listener '{}': connection ended by an exception: {}", listener_name,
                      e.what());
  }
  if (--open_connections_ == 0 && context_.draining && drain_timer_) {
    finishDrain();
  }
}

}  // namespace weft::proxy
