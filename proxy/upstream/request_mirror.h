#pragma once

#include <array>
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/http2/header_translation.h"
#include "proxy/snapshot/snapshot.h"

namespace weft::proxy {

class Http2ClientPool;

// Mirroring ("shadowing"): a copy of a request goes to a mirror cluster and its answer is
// thrown away. A copy is sent once the primary exchange is over, on its own coroutine or
// stream, so the primary never waits for it; the copy gains "x-weft-mirror: 1" and is bounded
// by kMirrorTimeout. It goes in the mirror cluster's protocol: HTTP/1.1 over a connection of
// its own, or a stream on the worker's HTTP/2 connections to the cluster. At most
// kMaxMirrorsInFlight copies run per worker thread: beyond, copies are dropped and counted,
// so a slow mirror cannot pile up memory.

inline constexpr uint32_t kMaxMirrorsInFlight = 64;
inline constexpr std::chrono::seconds kMirrorTimeout{30};

// The mirror clusters one request goes to, each drawn by its share of the route's requests.
struct ChosenMirrors {
  std::array<const ClusterConfig*, 8> clusters{};
  size_t count = 0;
};
ChosenMirrors chooseMirrors(const RouteEntry& route);

// The request as the primary exchange kept it (RequestReplay, up to its limit).
struct KeptRequest {
  // Set: the request's HTTP/2 fields, and `bytes` is its body. Null: `bytes` is the HTTP/1.1
  // wire text, head and framed body.
  const HeaderList* http2_fields = nullptr;
  std::string_view bytes;
  // The primary took the whole request and it was kept whole; otherwise no copy can go.
  bool whole = false;
};

// The worker a copy runs on: its thread, its connections and TLS sessions.
struct MirrorWorker {
  boost::asio::any_io_executor executor;
  SnapshotPtr snapshot;  // the primary's, which the mirror clusters live in
  uint32_t worker_index = 0;
  TlsSessionCache* tls_sessions = nullptr;
  std::shared_ptr<Http2ClientPool> http2_pool;  // the worker's, for HTTP2 mirror clusters
};

// Sends `request` to each chosen mirror. Every copy is counted: sent
// (weft_proxy_mirrored_total), or dropped (weft_proxy_mirror_dropped_total) when the request
// was not kept whole, no endpoint is available, or too many copies are in flight.
void sendMirrors(const ChosenMirrors& mirrors, const KeptRequest& request,
                 const MirrorWorker& worker);

}  // namespace weft::proxy
