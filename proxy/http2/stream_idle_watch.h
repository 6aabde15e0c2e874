#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "proxy/http2/stream_exchange.h"

namespace weft::proxy {

// Ends exchanges on which no byte moved in either direction for their stream
// idle timeout: the upstream side is cancelled, and the client gets a local
// reply "stream_idle_timeout" (504, or 408 while its request body is
// incomplete) when the response has not started, a stream reset otherwise.
//
// One per worker, for all its exchanges: registering an exchange is a push
// onto a list (it holds the exchange weakly), and one timer sweeps the list
// every quarter of the shortest timeout watched, comparing each exchange's
// byte counters with what it saw last. No clock is read on the data path, and
// an exchange that completes costs nothing more: the next sweep drops it. A
// timeout fires between `idle` and 1.25 x `idle` after the last byte. (This
// replaced a coroutine and a timer per exchange, which cost more than the rest
// of the stream's bookkeeping.)
class StreamIdleWatcher {
 public:
  explicit StreamIdleWatcher(const boost::asio::any_io_executor& executor) : timer_(executor) {}
  StreamIdleWatcher(const StreamIdleWatcher&) = delete;
  StreamIdleWatcher& operator=(const StreamIdleWatcher&) = delete;

  void watch(const StreamExchangePtr& exchange, std::chrono::milliseconds idle,
             std::string_view cluster_name);

  size_t watchedCount() const { return watched_.size(); }

 private:
  using Clock = std::chrono::steady_clock;
  using Progress = std::tuple<uint64_t, uint64_t, bool, bool, bool>;

  struct Watched {
    std::weak_ptr<StreamExchange> exchange;
    std::chrono::milliseconds idle;
    Progress seen;
    Clock::time_point last_change;
    std::string cluster_name;
  };

  static Progress progress(const StreamExchange& exchange);
  static bool complete(const StreamExchange& exchange);
  static std::chrono::milliseconds periodOf(std::chrono::milliseconds idle);
  static void expire(StreamExchange& exchange, std::chrono::milliseconds idle,
                     const std::string& cluster_name);

  void sweep();
  void waitUntil(Clock::time_point due);

  boost::asio::steady_timer timer_;
  bool waiting_ = false;
  Clock::time_point due_{};
  uint64_t generation_ = 0;  // of the wait in force; an older one's completion is stale
  std::vector<Watched> watched_;
};

}  // namespace weft::proxy
