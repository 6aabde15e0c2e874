#pragma once

#include "proxy/http2/header_translation.h"
#include "proxy/router/header_mutation.h"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <chrono>
#include <span>
#include <string>
#include "proxy/io/deadline_stream.h"

#include "proxy/http1/local_reply.h"
#include "proxy/tls/upstream_tls.h"
#include "proxy/upstream/http1_connection_pool.h"
#include "proxy/upstream/upstream_retry.h"

namespace weft::proxy {

using RequestParser = boost::beast::http::request_parser<boost::beast::http::buffer_body>;

// What a relay tells the golden metrics about an exchange, filled in as it goes.
struct ExchangeTally {
  uint64_t request_body_bytes = 0;   // read from the client
  uint64_t response_body_bytes = 0;  // written to the client
  unsigned response_status = 0;      // of the response relayed to the client; 0: none
  int grpc_status = -1;              // its gRPC status, when it has one
  uint8_t response_flag = 0;         // a local reply's flag (responseFlag) when relayed as one
  const lb::Host* host = nullptr;    // the endpoint whose response was relayed
  // For the access log: retries sent, and when the relayed response's header came.
  uint32_t retries = 0;
  std::chrono::steady_clock::time_point upstream_answered{};
};

struct ExchangeParams {
  // The first attempt's endpoint, transport and connection limit.
  AttemptTarget target;
  std::chrono::milliseconds connect_timeout;
  std::chrono::milliseconds route_timeout;            // 0: none
  std::chrono::milliseconds downstream_idle_timeout;  // 0: none
  bool client_keep_alive = true;
  unsigned client_version = 11;
  // Applied to the response header before it goes to the client.
  const MutationChain* response_mutations = nullptr;
  // Fields added to the response (a generated affinity cookie, x-request-id).
  const HeaderList* response_additions = nullptr;
  // The cluster's pool settings.
  std::chrono::milliseconds pool_idle_timeout{60'000};
  uint32_t max_requests_per_connection = 0;  // 0: unlimited
  // The Upgrade value forwarded (allowed protocols only); empty: not an upgrade.
  std::string_view upgrade;
  // After a 101, the tunnel closes when no byte moved for this long (0: never).
  std::chrono::milliseconds tunnel_idle_timeout{0};
  // A read or write with no byte moving for this long ends the exchange (0: none).
  std::chrono::milliseconds stream_idle_timeout{0};
  // The worker's drain flag: set by the time the response starts, the response
  // says Connection: close.
  const bool* draining = nullptr;
  // The worker's TLS sessions.
  TlsSessionCache* tls_sessions = nullptr;
  // Set when the route retries (never for an upgrade): the request's retry
  // state, the hosts of later attempts and the kept copy of the request.
  UpstreamRetry* retry = nullptr;
  // Where the request is kept as it goes upstream (for retries and mirrors); null: not kept.
  RequestReplay* replay = nullptr;
  // The cluster, for its circuit breaker on connections and waiting requests.
  const ClusterConfig* cluster = nullptr;
  // This worker's outlier detection for the cluster; null: off.
  OutlierDetector* outlier = nullptr;
  // Filled in for the golden metrics; null: not counted.
  ExchangeTally* tally = nullptr;
};

struct ExchangeResult {
  enum class Outcome {
    kRelayed,               // the response went to the client
    kFailedBeforeResponse,  // nothing was sent to the client: answer with a local reply
    kFailedDuringResponse,  // the response had started: the client connection must close
    kDownstreamGone,        // the client went away
  };
  Outcome outcome = Outcome::kFailedBeforeResponse;
  LocalReplyReason failure = LocalReplyReason::kUpstreamReset;
  unsigned status = 0;  // with kFailedBeforeResponse: the status, when not failureStatus()
  std::string detail;
  // With kRelayed: whether the client connection may carry another request.
  bool keep_alive = false;
};

// Sends the request whose header `request` has read (its body still unread) to
// an upstream and relays the response to the client, streaming both bodies
// through `scratch`: memory per exchange is bounded by the scratch size whatever
// the body sizes. Bodies keep their framing (Content-Length or chunked).
//
// An upgrade request (params.upgrade) answered with 101 becomes a byte tunnel:
// the 101 goes to the client, then bytes are spliced both ways (half-close
// passed on) until both sides closed or the tunnel idled out; the upstream
// connection is never pooled again. Any other answer is a normal response.
//
// Upstream connections come from and return to `pool`. A reused connection that
// fails before any response byte, for a request without a body, was closed by
// the upstream while idle; the request is retried once on a fresh connection.
//
// With params.retry, an attempt that fails or answers with a response the
// policy retries is tried again, on another host when there is one, after the
// backoff (or the wait a reset header asks for), while retries, budget and
// route deadline allow; such a response is dropped unseen. The response the
// client gets is the first one not retried. Each attempt is bounded by the
// policy's per-try timeout within the route deadline.
boost::asio::awaitable<ExchangeResult> relayExchange(DeadlineStream& downstream,
                                                     boost::beast::flat_buffer& downstream_buffer,
                                                     RequestParser& request,
                                                     const ExchangeParams& params,
                                                     Http1ConnectionPool& pool,
                                                     std::span<char> scratch);

}  // namespace weft::proxy
