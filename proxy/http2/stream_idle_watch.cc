#include "proxy/http2/stream_idle_watch.h"

#include <nghttp2/nghttp2.h>

#include "common/log/logger.h"

namespace weft::proxy {

void StreamIdleWatcher::watch(const StreamExchangePtr& exchange, std::chrono::milliseconds idle,
                              std::string_view cluster_name) {
  const auto now = Clock::now();
  watched_.push_back(Watched{exchange, idle, progress(*exchange), now, std::string(cluster_name)});
  const auto due = now + periodOf(idle);
  if (!waiting_ || due < due_) {
    waitUntil(due);
  }
}

StreamIdleWatcher::Progress StreamIdleWatcher::progress(const StreamExchange& exchange) {
  return {exchange.request_body.moved(), exchange.response_body.moved(),
          exchange.request_body.ended, exchange.response_started, exchange.response_body.ended};
}

bool StreamIdleWatcher::complete(const StreamExchange& exchange) {
  return exchange.downstream_closed ||
         (exchange.upstream_finished && exchange.response_body.ended &&
          exchange.response_body.size() == 0);
}

std::chrono::milliseconds StreamIdleWatcher::periodOf(std::chrono::milliseconds idle) {
  return std::max(idle / 4, std::chrono::milliseconds(1));
}

void StreamIdleWatcher::waitUntil(Clock::time_point due) {
  due_ = due;
  waiting_ = true;
  timer_.expires_at(due);  // a wait outstanding completes as aborted, and is stale
  const uint64_t generation = ++generation_;
  timer_.async_wait([this, generation](const boost::system::error_code& error) {
    if (generation != generation_) {
      return;
    }
    waiting_ = false;
    if (!error) {
      sweep();
    }
  });
}

void StreamIdleWatcher::sweep() {
  const auto now = Clock::now();
  auto next_period = std::chrono::milliseconds::max();
  struct Expired {
    StreamExchangePtr exchange;
    std::chrono::milliseconds idle;
    std::string cluster_name;
  };
  std::vector<Expired> expired;
  for (size_t i = 0; i < watched_.size();) {
    Watched& entry = watched_[i];
    StreamExchangePtr exchange = entry.exchange.lock();
    bool drop = exchange == nullptr || complete(*exchange);
    if (!drop) {
      const Progress current = progress(*exchange);
      if (current != entry.seen) {
        entry.seen = current;
        entry.last_change = now;
      } else if (now - entry.last_change >= entry.idle) {
        expired.push_back({std::move(exchange), entry.idle, std::move(entry.cluster_name)});
        drop = true;
      }
    }
    if (drop) {
      entry = std::move(watched_.back());  // order does not matter
      watched_.pop_back();
      continue;
    }
    next_period = std::min(next_period, periodOf(entry.idle));
    ++i;
  }
  if (!watched_.empty()) {
    waitUntil(now + next_period);
  }
  // Acted on after the sweep: the replies call into connections, which must
  // not find the list half updated.
  for (Expired& entry : expired) {
    expire(*entry.exchange, entry.idle, entry.cluster_name);
  }
}

void StreamIdleWatcher::expire(StreamExchange& exchange, std::chrono::milliseconds idle,
                               const std::string& cluster_name) {
  weft::log::logger("http").info("{} {}: cluster {}: no bytes moved for the stream idle timeout",
                                 exchange.request.method, exchange.request.path, cluster_name);
  exchange.upstream_cancelled = true;
  if (exchange.upstream != nullptr) {
    exchange.upstream->resetByDownstream(exchange);
  }
  if (!exchange.response_started) {
    exchange.localReply(LocalReplyReason::kStreamIdleTimeout,
                        exchange.request_body.ended ? 504 : 408,
                        "cluster '" + cluster_name + "': no bytes moved for " +
                            std::to_string(idle.count()) + " ms (stream idle timeout)");
  } else if (exchange.downstream != nullptr) {
    exchange.downstream->resetByUpstream(exchange, NGHTTP2_CANCEL);
  }
}

}  // namespace weft::proxy
