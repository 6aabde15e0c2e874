#include "proxy/http2/http2_attempts.h"

#include <algorithm>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "proxy/http2/client_connection_pool.h"
#include "proxy/http2/header_list_lookup.h"
#include "proxy/router/grpc_timeout.h"

namespace weft::proxy {

namespace asio = boost::asio;

Http2Attempts::Http2Attempts(const Setup& setup, StreamExchange& exchange, HeaderList fields,
                             UpstreamTarget target, const Http2Settings& settings,
                             std::shared_ptr<Http2ClientPool> pool, asio::any_io_executor executor)
    : setup_(setup),
      host_(setup.first_host),
      fields_(std::move(fields)),
      target_(std::move(target)),
      settings_(settings),
      pool_(std::move(pool)),
      executor_(std::move(executor)) {
  keep_body_ = setup.policy != nullptr || setup.mirrors.count > 0;
  if (setup.policy != nullptr) {
    first_sent_ = Clock::now();
    for (const HeaderField& field : fields_) {
      if (field.name == "grpc-timeout") {
        grpc_timeout_sent_ = field.value;
      }
    }
    retry_.emplace(*setup.policy, *setup.cluster, setup.worker_index, setup.first_host, setup.hash,
                   exchange.active_request, replay_, setup.deadline);
  }
}

size_t Http2Attempts::bodyTaken(const uint8_t* data, size_t length, bool ended) {
  taken_now_ += length;
  const size_t fresh = taken_now_ > taken_most_ ? taken_now_ - taken_most_ : 0;
  taken_most_ = std::max(taken_most_, taken_now_);
  if (keep_body_) {
    replay_.started = replay_.started || length > 0;
    replay_.append(reinterpret_cast<const char*>(data), length);
    replay_.complete = ended && !replay_.overflow;
  }
  return fresh;
}

void Http2Attempts::attemptStarted(StreamExchange& exchange) {
  ++attempt_;
  per_try_waits_for_body_ = false;
  if (!retry_ || retry_->policy().per_try_timeout.count() <= 0) {
    return;
  }
  if (exchange.request_body.ended) {
    startPerTry(exchange);
  } else {
    per_try_waits_for_body_ = true;
  }
}

void Http2Attempts::requestEnded(StreamExchange& exchange) {
  if (per_try_waits_for_body_) {
    per_try_waits_for_body_ = false;
    startPerTry(exchange);
  }
}

void Http2Attempts::startPerTry(StreamExchange& exchange) {
  const auto until = Clock::now() + retry_->policy().per_try_timeout;
  if (until >= setup_.deadline) {
    return;  // the route timeout comes first, and answers for itself
  }
  if (!per_try_timer_) {
    per_try_timer_.emplace(executor_);
  }
  per_try_timer_->expires_at(until);
  per_try_timer_->async_wait([weak = exchange.weak_from_this(),
                              attempt = attempt_](const boost::system::error_code& error) {
    if (!error) {
      perTryExpired(weak, attempt);
    }
  });
}

void Http2Attempts::perTryExpired(const std::weak_ptr<StreamExchange>& weak, uint64_t attempt) {
  const std::shared_ptr<StreamExchange> exchange = weak.lock();
  if (!exchange || !exchange->attempts || exchange->attempts->attempt_ != attempt ||
      exchange->downstream_closed || exchange->response_started || exchange->upstream_cancelled) {
    return;  // the attempt ended, or the exchange did
  }
  Http2Attempts& self = *exchange->attempts;
  if (exchange->upstream != nullptr) {
    exchange->upstream->abandonAttempt(*exchange);  // its late answer is dropped
    exchange->upstream = nullptr;
  }
  const AttemptResult result{AttemptFailure::kPerTryTimeout, 0, -1};
  if (self.attemptEnded(*exchange, result, nullptr)) {
    return;
  }
  exchange->upstream_finished = true;
  exchange->localReply(LocalReplyReason::kUpstreamTimeout, 504,
                       "cluster '" + self.target_.cluster_name +
                           "': no response within the per-try timeout" + self.note());
}

bool Http2Attempts::attemptEnded(StreamExchange& exchange, const AttemptResult& result,
                                 const HeaderList* response, bool report) {
  ++attempt_;  // its per-try timer, if any, is stale now
  per_try_waits_for_body_ = false;
  if (per_try_timer_) {
    per_try_timer_->cancel();
  }
  if (exchange.downstream_closed) {
    return false;  // the client left: the outcome is nobody's, and the request may be gone
  }
  const auto now = Clock::now();
  if (report && setup_.outlier != nullptr && host_ != nullptr) {
    setup_.outlier->report(*host_, result, now);
  }
  if (!retry_ || exchange.response_started) {
    return false;
  }
  RetryDecision decision;
  if (response != nullptr) {
    const HeaderListLookup lookup(*response);
    const RequestView view{{}, {}, {}, {}, &lookup, {}};
    decision = retry_->decide(result, &view, now);
  } else {
    decision = retry_->decide(result, nullptr, now);
  }
  if (!decision.retry) {
    refused_ = decision.refused;
    return false;
  }
  const AttemptTarget* next = &retry_->target();
  host_ = next->host;
  exchange.metrics.series.destination =
      setup_.cluster->metricDestination(exchange.metrics.series.direction, host_);
  exchange.metrics.host = host_;
  exchange.metrics.retries = retry_->state().retries();
  target_.endpoint = next->upstream;
  target_.transport = next->transport;
  // The body goes again from its start: what the last attempt took is put back.
  if (replay_.started) {
    exchange.request_body.restore(replay_.bytes);
  }
  replay_.reset();
  taken_now_ = 0;
  exchange.upstream = nullptr;
  exchange.upstream_finished = false;
  // The backoff is the proxy's wait, not the stream being idle.
  exchange.idle_watch.last_change = now;
  asio::co_spawn(executor_, resend(exchange.shared_from_this(), decision.wait), asio::detached);
  return true;
}

void Http2Attempts::exchangeEnded(const StreamExchange& exchange) {
  if (setup_.mirrors.count == 0) {
    return;
  }
  const ChosenMirrors mirrors = std::exchange(setup_.mirrors, ChosenMirrors{});
  // Whole when the current attempt took the body to its end, or the request had none (no body
  // byte came from the client, counted even when a local reply discarded them).
  const bool body_seen =
      replay_.complete || (exchange.request_body.ended && exchange.metrics.request_body_bytes == 0);
  KeptRequest kept{&fields_, replay_.bytes, body_seen && !replay_.overflow};
  MirrorWorker worker{executor_, exchange.snapshot, setup_.worker_index, target_.tls_sessions,
                      pool_};
  sendMirrors(mirrors, kept, worker);
}

std::string Http2Attempts::note() const {
  return retry_ ? retry_->note(refused_) : std::string();
}

asio::awaitable<void> Http2Attempts::resend(std::shared_ptr<StreamExchange> exchange,
                                            std::chrono::milliseconds wait) {
  if (wait.count() > 0) {
    asio::steady_timer timer(co_await asio::this_coro::executor, wait);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (!exchange->attempts) {
    co_return;
  }
  Http2Attempts& self = *exchange->attempts;
  // The client left, or the route timeout answered, while the backoff ran.
  if (exchange->downstream_closed || exchange->response_started) {
    self.retry_->state().retryNotSent();
    co_return;
  }
  if (!self.grpc_timeout_sent_.empty()) {
    const std::optional<std::string> left =
        grpcTimeoutLeft(self.grpc_timeout_sent_, Clock::now() - self.first_sent_);
    for (HeaderField& field : self.fields_) {
      if (field.name == "grpc-timeout" && left) {
        field.value = *left;  // the client's deadline did not move with the retry
      }
    }
  }
  self.pool_->submitAttempt(self.executor_, exchange, self.fields_, self.target_, self.settings_);
}

}  // namespace weft::proxy
