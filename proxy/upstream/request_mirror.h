#pragma once

#include <array>
#include <boost/asio/any_io_executor.hpp>
#include <string>

#include "proxy/snapshot/snapshot.h"
#include "proxy/upstream/upstream_retry.h"

namespace weft::proxy {

// Sends a copy of a request to a mirror ("shadow") cluster and throws the
// answer away. `request` is the request as it went upstream (head and framed
// body, RequestReplay); the copy gains "x-weft-mirror: 1". It runs on its own
// coroutine after the primary response has gone to the client, over its own
// connection, so the primary never waits for it; `snapshot` keeps the cluster
// alive meanwhile. At most kMaxInFlight copies run per worker thread: beyond,
// copies are dropped and counted, so a slow mirror cannot pile up memory.
// Returns false when the copy was dropped.
bool mirrorRequest(const boost::asio::any_io_executor& executor, SnapshotPtr snapshot,
                   const ClusterConfig& cluster, uint32_t worker_index, std::string_view request,
                   TlsSessionCache& tls_sessions);

inline constexpr uint32_t kMaxMirrorsInFlight = 64;

// The mirror clusters one request goes to, each drawn by its share of the route's requests.
struct ChosenMirrors {
  std::array<const ClusterConfig*, 8> clusters{};
  size_t count = 0;
};
ChosenMirrors chooseMirrors(const RouteEntry& route);

// Counts each chosen mirror's copy as dropped: requests to an HTTP2 cluster (gRPC) are not
// copied in this version, and are counted rather than skipped silently.
void dropMirrors(const ChosenMirrors& mirrors);

// Sends the request kept in `replay` to each chosen mirror once the primary exchange ended;
// a request that was not kept whole (larger than RequestReplay::kLimit) counts as dropped.
void sendMirrors(const ChosenMirrors& mirrors, const RequestReplay& replay,
                 const boost::asio::any_io_executor& executor, const SnapshotPtr& snapshot,
                 uint32_t worker_index, TlsSessionCache& tls_sessions);

}  // namespace weft::proxy
