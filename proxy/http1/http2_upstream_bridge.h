#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <chrono>
#include <span>
#include "proxy/io/deadline_stream.h"

#include "proxy/http1/upstream_exchange.h"
#include "proxy/http2/http2_attempts.h"
#include "proxy/http2/stream_exchange.h"

namespace weft::proxy {

class StreamIdleWatcher;

class Http2ClientPool;

struct Http2BridgeParams {
  UpstreamTarget target;
  Http2Settings settings;                             // of the cluster's HTTP/2 connections
  std::chrono::milliseconds downstream_idle_timeout;  // 0: none
  std::chrono::milliseconds stream_idle_timeout;      // 0: none
  bool client_keep_alive = true;
  unsigned client_version = 11;
  // Applied to the response header before it goes to the client.
  const MutationChain* response_mutations = nullptr;
  // Fields added to the response (a generated affinity cookie, x-request-id).
  const HeaderList* response_additions = nullptr;
  // The worker's watch that applies stream_idle_timeout (required when it is set).
  StreamIdleWatcher* idle_watcher = nullptr;
  // The worker's drain flag: set by the time the response starts, the response
  // says Connection: close.
  const bool* draining = nullptr;
  // Retries, mirrors and outlier reporting (http2_attempts.h): used when any is set
  // (Http2Attempts::wanted), with `pool_owner` (the worker's pool) for retries and mirrors.
  Http2Attempts::Setup attempts;
  std::shared_ptr<Http2ClientPool> pool_owner;
  // The config the exchange runs on: kept with it, since retries and late upstream frames may
  // outlive the client's request (attempts point into it).
  SnapshotPtr snapshot;
  // The request's count on its host (least-request balancing), moved into the exchange so
  // that a retry moves it on.
  ActiveRequest* active = nullptr;
  // Filled in for the golden metrics; null: not counted.
  ExchangeTally* tally = nullptr;
};

// Sends an HTTP/1.1 request (header read and adapted, body unread) to an
// HTTP/2 cluster as one stream on the worker's `pool`, and relays the response
// back as HTTP/1.1. Both bodies stream at once (a server may answer while the
// client still sends, as gRPC-style streaming does), each through half of
// `scratch`; buffering per direction is bounded by a small limit on the
// request side and by one HTTP/2 stream window on the response side, since
// response DATA is acknowledged only once written to the client.
//
// Request trailers go out as HTTP/2 trailers. Response trailers (grpc-status)
// come back as chunked trailers when the response is chunked, which it is when
// the upstream gave no content-length and the client speaks HTTP/1.1. Failures
// before the response (connect, reset, route timeout) come back as the
// exchange's local reply; after it started, the client connection is closed.
boost::asio::awaitable<ExchangeResult> relayToHttp2Upstream(
    DeadlineStream& downstream, boost::beast::flat_buffer& downstream_buffer,
    RequestParser& request, const Http2BridgeParams& params, Http2ClientPool& pool,
    std::span<char> scratch);

}  // namespace weft::proxy
