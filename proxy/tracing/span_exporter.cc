#include "proxy/tracing/span_exporter.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "common/log/logger.h"
#include "proxy/stats/traffic_counters.h"
#include "proxy/tracing/span_encoding.h"
#include "proxy/upstream/upstream_pick.h"

namespace weft::proxy {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr size_t kQueuedBatches = 8;
// Whatever max_batch_size says, a worker keeps at most this many spans waiting.
constexpr size_t kMaxQueuedSpans = 16384;
constexpr std::chrono::seconds kSendTimeout{5};
// A stopping worker's last send: short, so that a dead collector cannot hold its exit.
constexpr std::chrono::seconds kStopTimeout{1};

spdlog::logger& tracingLog() {
  static spdlog::logger& logger = weft::log::logger("tracing");
  return logger;
}

}  // namespace

SpanExporter::SpanExporter(asio::any_io_executor executor, const SnapshotPtr* snapshot,
                           uint32_t worker_index)
    : executor_(std::move(executor)),
      snapshot_(snapshot),
      worker_index_(worker_index),
      wake_(executor_) {}

void SpanExporter::add(FinishedSpan span) {
  const SpanExportConfig* config = (*snapshot_)->span_export.get();
  if (config == nullptr || stopping_) {
    return;
  }
  if (queue_.size() >= std::min<size_t>(kQueuedBatches * config->max_batch, kMaxQueuedSpans)) {
    trafficCounters().spans_dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  queue_.push_back(std::move(span));
  if (!running_) {
    running_ = true;
    asio::co_spawn(executor_, run(), asio::detached);
  } else if (queue_.size() >= config->max_batch) {
    wake_.cancel();  // a full batch goes now
  }
}

void SpanExporter::stop() {
  stopping_ = true;
  wake_.cancel();
  if (sending_ != nullptr) {
    sending_->expires_after(kStopTimeout);
    cut_short_ = true;  // that batch is the last
  }
}

asio::awaitable<void> SpanExporter::run() {
  const auto self = shared_from_this();
  while (!stopping_) {
    const SpanExportConfig* config = (*snapshot_)->span_export.get();
    if (config == nullptr) {
      queue_.clear();  // a reload turned export off
      break;
    }
    if (queue_.size() < config->max_batch) {
      wake_.expires_after(config->flush_interval);
      co_await wake_.async_wait(kUseTuple);
    }
    while (co_await sendBatch() && !stopping_) {
      const SpanExportConfig* now = (*snapshot_)->span_export.get();
      if (now == nullptr || queue_.size() < now->max_batch) {
        break;
      }
    }
  }
  if (stopping_) {
    if (!cut_short_) {
      co_await sendBatch();  // the last spans, once, within kStopTimeout
    }
    trafficCounters().spans_dropped.fetch_add(queue_.size(), std::memory_order_relaxed);
    queue_.clear();
  }
  running_ = false;
}

asio::awaitable<bool> SpanExporter::sendBatch() {
  const SnapshotPtr snapshot = *snapshot_;
  const SpanExportConfig* config = snapshot->span_export.get();
  if (queue_.empty() || config == nullptr) {
    co_return false;
  }
  const size_t count = std::min<size_t>(queue_.size(), config->max_batch);
  std::vector<FinishedSpan> batch(std::make_move_iterator(queue_.begin()),
                                  std::make_move_iterator(queue_.begin() + count));
  queue_.erase(queue_.begin(), queue_.begin() + count);
  auto failed = [&](const std::string& why) {
    trafficCounters().span_export_failures.fetch_add(1, std::memory_order_relaxed);
    trafficCounters().spans_dropped.fetch_add(count, std::memory_order_relaxed);
    tracingLog().warn("exporting {} spans to cluster '{}' failed: {}; they are dropped", count,
                      config->collector_cluster, why);
  };
  auto cluster = snapshot->clusters.find(config->collector_cluster);
  if (cluster == snapshot->clusters.end()) {
    failed("no such cluster");
    co_return true;
  }
  lb::Host* host = chooseHost(*cluster->second, worker_index_);
  if (host == nullptr) {
    failed("no healthy endpoint");
    co_return true;
  }
  http::request<http::string_body> request{http::verb::post, config->collector_path, 11};
  request.set(http::field::host, config->collector_cluster);
  request.set(http::field::content_type, "application/json");
  request.body() = config->format == SpanExportConfig::Format::kOtlpJson
                       ? encodeOtlpJson(batch, config->service_name)
                       : encodeZipkinJson(batch, config->service_name);
  request.prepare_payload();
  beast::tcp_stream stream(executor_);
  stream.expires_after(stopping_ ? kStopTimeout : kSendTimeout);
  sending_ = &stream;
  struct Clear {
    beast::tcp_stream*& sending;
    ~Clear() { sending = nullptr; }
  } clear{sending_};
  auto [connect_error] = co_await stream.async_connect(host->address(), kUseTuple);
  if (connect_error) {
    failed("connect to " + host->address().address().to_string() + ": " + connect_error.message());
    co_return true;
  }
  auto [write_error, written] = co_await http::async_write(stream, request, kUseTuple);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  boost::system::error_code read_error = write_error;
  if (!write_error) {
    std::tie(read_error, std::ignore) =
        co_await http::async_read(stream, buffer, response, kUseTuple);
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  if (read_error) {
    failed(read_error.message());
  } else if (response.result_int() / 100 != 2) {
    failed("the collector answered " + std::to_string(response.result_int()));
  } else {
    trafficCounters().spans_exported.fetch_add(count, std::memory_order_relaxed);
  }
  co_return true;
}

}  // namespace weft::proxy
