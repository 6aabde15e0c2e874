#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <string_view>

#include "proxy/http2/stream_exchange.h"

namespace weft::proxy {

// Ends exchanges on which no byte moved in either direction for their stream
// idle timeout: the upstream side is cancelled, and the client gets a local
// reply "stream_idle_timeout" (504, or 408 while its request body is
// incomplete) when the response has not started, a stream reset otherwise.
//
// One per worker, for all its exchanges (decision 26). Watching links the
// exchange into an intrusive list (StreamExchange::idle_watch) that it leaves
// when it is destroyed, so the watcher holds no reference and no memory; one
// timer sweeps the list every quarter of the shortest timeout watched,
// comparing each exchange's byte counters with what it saw last. No clock is
// read on the data path. A timeout fires between `idle` and 1.25 x `idle`
// after the last byte. One worker thread only.
class StreamIdleWatcher {
 public:
  explicit StreamIdleWatcher(const boost::asio::any_io_executor& executor) : timer_(executor) {}
  ~StreamIdleWatcher();
  StreamIdleWatcher(const StreamIdleWatcher&) = delete;
  StreamIdleWatcher& operator=(const StreamIdleWatcher&) = delete;

  // Watches `exchange` until it completes, times out or is destroyed.
  void watch(StreamExchange& exchange, std::chrono::milliseconds idle,
             std::string_view cluster_name);
  // Takes `exchange` off the list (its destructor calls this).
  void unwatch(StreamExchange& exchange);

  size_t watchedCount() const { return count_; }

  // Cancels the sweep timer and ignores later watch() calls. For a draining
  // worker whose connections have all closed: an armed timer would otherwise
  // hold its event loop open for up to a quarter of the longest idle timeout
  // (75 s by default) past the drain.
  void stop();

 private:
  using Clock = std::chrono::steady_clock;

  static IdleWatchLink::Progress progress(const StreamExchange& exchange);
  static bool complete(const StreamExchange& exchange);
  static std::chrono::milliseconds periodOf(std::chrono::milliseconds idle);
  static void expire(StreamExchange& exchange, std::chrono::milliseconds idle,
                     const std::string& cluster_name);

  void sweep();
  void waitUntil(Clock::time_point due);

  boost::asio::steady_timer timer_;
  bool waiting_ = false;
  bool stopped_ = false;
  Clock::time_point due_{};
  uint64_t generation_ = 0;  // of the wait in force; an older one's completion is stale
  StreamExchange* head_ = nullptr;
  size_t count_ = 0;
};

}  // namespace weft::proxy
