#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <deque>
#include <memory>

#include "proxy/snapshot/snapshot.h"
#include "proxy/tracing/finished_span.h"

namespace weft::proxy {

// One worker's finished spans on their way to the collector. Spans are queued on the worker's
// thread (a move, no lock); a coroutine on the same thread sends a batch every flush_interval,
// or as soon as max_batch spans wait, as one HTTP/1.1 POST to an endpoint of the collector
// cluster. While a batch is on its way new spans queue; beyond 8 batches they are dropped and
// counted, so a slow collector costs spans, never request latency or unbounded memory.
class SpanExporter : public std::enable_shared_from_this<SpanExporter> {
 public:
  // `snapshot`: where the worker's current snapshot is (its exporter settings and collector
  // cluster are read from it at each send); `worker_index`: for load balancing.
  SpanExporter(boost::asio::any_io_executor executor, const SnapshotPtr* snapshot,
               uint32_t worker_index);

  // Queues `span` (dropped and counted when the queue is full). Starts the sending loop on first
  // use.
  void add(FinishedSpan span);

  // The worker is ending: one last batch goes within a second (or the batch under way gets a
  // second to finish); spans left are counted as dropped. The worker's loop then ends.
  void stop();

 private:
  boost::asio::awaitable<void> run();
  // Sends up to one batch; false when there was nothing to send.
  boost::asio::awaitable<bool> sendBatch();

  boost::asio::any_io_executor executor_;
  const SnapshotPtr* snapshot_;
  uint32_t worker_index_;
  std::deque<FinishedSpan> queue_;
  boost::asio::steady_timer wake_;
  // The POST under way, if any: stop() shortens its deadline.
  boost::beast::tcp_stream* sending_ = nullptr;
  bool running_ = false;
  bool stopping_ = false;
  bool cut_short_ = false;  // stopped while a batch was under way: no other is sent
};

}  // namespace weft::proxy
