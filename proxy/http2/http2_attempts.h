#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/http2/stream_exchange.h"
#include "proxy/upstream/request_mirror.h"
#include "proxy/upstream/resilience/outlier_detector.h"
#include "proxy/upstream/upstream_retry.h"

namespace weft::proxy {

class Http2ClientPool;

// One exchange's attempts on an HTTP/2 cluster (gRPC included), whichever protocol the client
// speaks. Kept on the exchange (StreamExchange::attempts) when the route retries or mirrors
// the request, or the cluster runs outlier detection; the upstream connection tells it how each
// attempt ended before the response reached the client: a connect failure, a reset or refused
// stream, or a final response header, which it holds back until this has decided.
//
// The request goes again as it went: its header fields are kept here, and the body bytes the
// upstream took are copied (up to RequestReplay::kLimit) and put back in front of the exchange's
// request body for the next attempt. The route timeout, enforced once per exchange by the pool,
// bounds all attempts and the backoffs between them. The same copy goes to the request's
// mirrors once the exchange is over.
class Http2Attempts {
 public:
  using Clock = std::chrono::steady_clock;

  struct Setup {
    const RetryPolicyConfig* policy = nullptr;  // null: no retries, outlier reporting only
    const ClusterConfig* cluster = nullptr;
    uint32_t worker_index = 0;
    lb::Host* first_host = nullptr;
    std::optional<uint64_t> hash;
    OutlierDetector* outlier = nullptr;
    Clock::time_point deadline = Clock::time_point::max();
    ChosenMirrors mirrors;  // sent a copy by exchangeEnded()
  };

  // Whether an exchange needs attempts kept for it.
  static bool wanted(const Setup& setup) {
    return setup.policy != nullptr || setup.outlier != nullptr || setup.mirrors.count > 0;
  }

  Http2Attempts(const Setup& setup, StreamExchange& exchange, HeaderList fields,
                UpstreamTarget target, const Http2Settings& settings,
                std::shared_ptr<Http2ClientPool> pool, boost::asio::any_io_executor executor);

  // The current attempt ended with `result` (`response`: its header fields, when one came).
  // Reports it to outlier detection and, under a retry policy, decides: true when another
  // attempt is on its way (the exchange is detached from the old one and the caller must
  // neither answer nor relay); false when the caller goes on as without retries.
  // `report`: false when the outcome was already reported for this host (one broken
  // connection fails all its streams, but counts against the host once).
  bool attemptEnded(StreamExchange& exchange, const AttemptResult& result,
                    const HeaderList* response, bool report = true);

  // The current attempt went to its upstream stream. Starts the policy's per-try timeout once
  // the client has sent its whole request (now, or at requestEnded()); it runs until the
  // attempt's response header, and the route timeout bounds the rest. On expiry the stream is
  // reset and the attempt ends as kPerTryTimeout: retried, or a 504.
  void attemptStarted(StreamExchange& exchange);
  // The client's request body ended (END_STREAM): a deferred per-try timeout starts.
  void requestEnded(StreamExchange& exchange);

  // Request body bytes the current attempt took from the client (`ended`: the whole body).
  // Returns how many of them are new to the upstream side: bytes an earlier attempt took
  // were credited to the client's flow-control window then, and must not be again.
  size_t bodyTaken(const uint8_t* data, size_t length, bool ended);

  // Bytes put back into the request body for this attempt that it has not taken yet: they
  // are in the body pipe but were credited to the client already.
  size_t replayedBytesPending() const { return taken_most_ - taken_now_; }

  // The client's side of the exchange is over (its stream closed or its HTTP/1.1 exchange
  // ended): each chosen mirror gets a copy of the request, if the upstream took it whole (a
  // request whose upstream answered before taking all of its body is not copied).
  void exchangeEnded(const StreamExchange& exchange);

  // The host of the current (or last) attempt.
  lb::Host* host() const { return host_; }
  // Retries sent so far.
  uint32_t retries() const { return retry_ ? retry_->state().retries() : 0; }

  // For a local reply after retries: " (3 attempts; not retried: retry budget exhausted)", or
  // empty when the request was tried once and no retry was refused.
  std::string note() const;

 private:
  static boost::asio::awaitable<void> resend(std::shared_ptr<StreamExchange> exchange,
                                             std::chrono::milliseconds wait);
  static void perTryExpired(const std::weak_ptr<StreamExchange>& weak, uint64_t attempt);
  void startPerTry(StreamExchange& exchange);

  Setup setup_;
  // The request body the current attempt took, kept when the request may go again (retries)
  // or to mirrors.
  RequestReplay replay_;
  bool keep_body_ = false;
  std::optional<UpstreamRetry> retry_;
  lb::Host* host_;  // of the current attempt
  HeaderList fields_;
  UpstreamTarget target_;
  Http2Settings settings_;
  std::shared_ptr<Http2ClientPool> pool_;
  boost::asio::any_io_executor executor_;
  // The per-try timeout of the current attempt, made on first use (a timer's construction
  // looks its service up under a lock: not for every exchange); `attempt_` counts attempt
  // starts and ends, so that a timer of an attempt that ended already does nothing.
  std::optional<boost::asio::steady_timer> per_try_timer_;
  uint64_t attempt_ = 0;
  bool per_try_waits_for_body_ = false;
  std::string_view refused_;
  // The grpc-timeout the first attempt forwarded, and when: a retry forwards what is left.
  std::string grpc_timeout_sent_;
  Clock::time_point first_sent_;
  // Request body bytes taken by the current attempt, and the most any attempt took.
  size_t taken_now_ = 0;
  size_t taken_most_ = 0;
};

}  // namespace weft::proxy
