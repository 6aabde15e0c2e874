#pragma once

#include <chrono>
#include <string>

#include "weft/v1/bootstrap.pb.h"

namespace weft::proxy::xds {

// The file behind Bootstrap.persisted_config: the last accepted responses, so a proxy that
// restarts while the control plane is unreachable serves at once (static stability).

// Writes atomically: a temporary file beside `path`, flushed to disk, then renamed over it, so
// a crash leaves either the old file or the new one, never half of one. Returns an empty
// string or why it failed.
std::string writePersistedResources(const std::string& path,
                                    const weft::v1::PersistedResources& resources);

// Reads the file. Returns an empty string on success; otherwise why the file is not usable:
// missing, unreadable, not a PersistedResources, or written longer ago than `max_age`.
std::string readPersistedResources(const std::string& path, std::chrono::seconds max_age,
                                   weft::v1::PersistedResources& resources);

}  // namespace weft::proxy::xds
