#pragma once

#include <string_view>

#include "common/config/config_error.h"
#include "proxy/snapshot/snapshot.h"
#include "weft/v1/bootstrap.pb.h"

namespace weft::proxy {

// Builds the immutable snapshot from a validated bootstrap: resolves listener
// addresses, route tables and cluster references, compiles route regexes.
// Cross-references the validator cannot see (a route naming a missing cluster,
// two listeners on one address) and settings this version of the proxy does not
// implement yet are errors, named by field path, rather than silently ignored.
//
// `worker_count` sizes each cluster's per-worker state slots: the snapshot is
// served by that many workers, numbered from 0.
//
// Returns null and fills `errors` when the config cannot be served.
SnapshotPtr buildSnapshot(const weft::v1::Bootstrap& bootstrap, std::string_view source,
                          config::ConfigErrors& errors, uint32_t worker_count = 1);

}  // namespace weft::proxy
