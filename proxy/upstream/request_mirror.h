#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <string>

#include "proxy/snapshot/snapshot.h"

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

}  // namespace weft::proxy
