#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>

#include "proxy/http2/stream_exchange.h"
#include "proxy/upstream/http1_connection_pool.h"
#include "proxy/upstream/request_mirror.h"
#include "proxy/upstream/resilience/outlier_detector.h"

namespace weft::proxy {

// What the relay of one HTTP/2 exchange to an HTTP/1.1 cluster needs besides the exchange.
struct Http1RelayParams {
  ForwardingFacts facts;
  // The first attempt's endpoint and transport, the cluster's pool and connection settings.
  UpstreamTarget target;
  lb::Host* host = nullptr;  // the first attempt's host, for outlier detection and retries
  std::optional<uint64_t> hash;
  uint32_t worker_index = 0;
  const RetryPolicyConfig* retry_policy = nullptr;  // null: no retries
  OutlierDetector* outlier = nullptr;               // this worker's, for the cluster; null: off
  ChosenMirrors mirrors;                            // sent a copy once the exchange ended
  std::shared_ptr<Http2ClientPool> http2_pool;      // the worker's, with mirrors: for HTTP2 ones
};

// Forwards an HTTP/2 exchange to an HTTP/1.1 upstream: sends the request
// (Content-Length kept, otherwise chunked, trailers in the last chunk), then
// relays the response header, body and chunked trailers back into the exchange.
//
// Request body bytes are acknowledged to the downstream only once written
// upstream; the response is read only while less than a small bound waits for
// the client, so a slow side on either end never makes the proxy buffer more.
// Connections come from and return to the worker's keep-alive `pool`.
//
// With a retry policy, an attempt that fails before its response header, or whose response
// header the policy retries, goes again (to another host when there is one) after the backoff,
// from a kept copy of the request (up to RequestReplay::kLimit), bounded by the per-try
// timeout and the route timeout; a retried response is dropped unseen. Every attempt is
// reported to outlier detection. Mirrors get the kept copy once the exchange ended.
boost::asio::awaitable<void> relayToHttp1Upstream(StreamExchangePtr exchange,
                                                  Http1RelayParams params,
                                                  Http1ConnectionPool& pool);

}  // namespace weft::proxy
