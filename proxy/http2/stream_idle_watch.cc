#include "proxy/http2/stream_idle_watch.h"

#include <nghttp2/nghttp2.h>

#include <vector>

#include "common/log/logger.h"

namespace weft::proxy {

StreamIdleWatcher::~StreamIdleWatcher() {
  for (StreamExchange* exchange = head_; exchange != nullptr;) {
    StreamExchange* next = exchange->idle_watch.next;
    exchange->idle_watch = IdleWatchLink();
    exchange = next;
  }
}

void StreamIdleWatcher::watch(StreamExchange& exchange, std::chrono::milliseconds idle,
                              std::string_view cluster_name) {
  if (exchange.idle_watch.watcher != nullptr || stopped_) {
    return;  // watched already, or the worker is done
  }
  const auto now = Clock::now();
  IdleWatchLink& link = exchange.idle_watch;
  link.watcher = this;
  link.prev = nullptr;
  link.next = head_;
  link.idle = idle;
  link.seen = progress(exchange);
  link.last_change = now;
  link.cluster_name.assign(cluster_name);
  if (head_ != nullptr) {
    head_->idle_watch.prev = &exchange;
  }
  head_ = &exchange;
  ++count_;
  const auto due = now + periodOf(idle);
  if (!waiting_ || due < due_) {
    waitUntil(due);
  }
}

void StreamIdleWatcher::stop() {
  stopped_ = true;
  waiting_ = false;
  ++generation_;  // the cancelled wait's completion is stale
  timer_.cancel();
}

void StreamIdleWatcher::unwatch(StreamExchange& exchange) {
  IdleWatchLink& link = exchange.idle_watch;
  if (link.watcher != this) {
    return;
  }
  if (link.prev != nullptr) {
    link.prev->idle_watch.next = link.next;
  } else {
    head_ = link.next;
  }
  if (link.next != nullptr) {
    link.next->idle_watch.prev = link.prev;
  }
  link.watcher = nullptr;
  link.prev = nullptr;
  link.next = nullptr;
  --count_;
}

IdleWatchLink::Progress StreamIdleWatcher::progress(const StreamExchange& exchange) {
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
  for (StreamExchange* exchange = head_; exchange != nullptr;) {
    StreamExchange* next = exchange->idle_watch.next;
    IdleWatchLink& link = exchange->idle_watch;
    if (complete(*exchange)) {
      unwatch(*exchange);
    } else {
      const IdleWatchLink::Progress current = progress(*exchange);
      if (current != link.seen) {
        link.seen = current;
        link.last_change = now;
        next_period = std::min(next_period, periodOf(link.idle));
      } else if (now - link.last_change >= link.idle) {
        // Held while acted on: a reply may release the connection's reference.
        expired.push_back({exchange->shared_from_this(), link.idle, std::move(link.cluster_name)});
        unwatch(*exchange);
      } else {
        next_period = std::min(next_period, periodOf(link.idle));
      }
    }
    exchange = next;
  }
  if (head_ != nullptr && !stopped_) {
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
