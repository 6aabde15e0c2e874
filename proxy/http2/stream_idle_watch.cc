#include "proxy/http2/stream_idle_watch.h"

#include <nghttp2/nghttp2.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <tuple>

#include "common/log/logger.h"

namespace weft::proxy {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

bool complete(const StreamExchange& exchange) {
  return exchange.downstream_closed ||
         (exchange.upstream_finished && exchange.response_body.ended &&
          exchange.response_body.size() == 0);
}

auto progress(const StreamExchange& exchange) {
  return std::make_tuple(exchange.request_body.moved(), exchange.response_body.moved(),
                         exchange.request_body.ended, exchange.response_started,
                         exchange.response_body.ended);
}

}  // namespace

asio::awaitable<void> watchStreamIdle(StreamExchangePtr exchange, std::chrono::milliseconds idle,
                                      std::string cluster_name) {
  const auto period = std::max(idle / 4, std::chrono::milliseconds(1));
  auto seen = progress(*exchange);
  auto last_change = Clock::now();
  for (;;) {
    if (complete(*exchange)) {
      co_return;
    }
    exchange->idle_timer.expires_after(period);
    co_await exchange->idle_timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (complete(*exchange)) {
      co_return;
    }
    const auto now = Clock::now();
    const auto current = progress(*exchange);
    if (current != seen) {
      seen = current;
      last_change = now;
    } else if (now - last_change >= idle) {
      break;
    }
  }
  weft::log::logger("http").info("{} {}: cluster {}: no bytes moved for the stream idle timeout",
                                 exchange->request.method, exchange->request.path, cluster_name);
  exchange->upstream_cancelled = true;
  if (exchange->upstream != nullptr) {
    exchange->upstream->resetByDownstream(*exchange);
  }
  if (!exchange->response_started) {
    exchange->localReply(LocalReplyReason::kStreamIdleTimeout,
                         exchange->request_body.ended ? 504 : 408,
                         "cluster '" + cluster_name + "': no bytes moved for " +
                             std::to_string(idle.count()) + " ms (stream idle timeout)");
  } else if (exchange->downstream != nullptr) {
    exchange->downstream->resetByUpstream(*exchange, NGHTTP2_CANCEL);
  }
}

}  // namespace weft::proxy
