#pragma once

#include <ostream>
#include <string>

#include "cli/control_plane_channel.h"

namespace weft::cli {

// `weftctl proxy-config <proxy> [listeners|routes|clusters|endpoints|all] [-o table|json]`:
// what one proxy runs, read from its admin endpoint. <proxy> is the admin address
// ("127.0.0.1:15000"), or a proxy id that the control plane knows (the proxy announces its
// admin address in its node metadata).

// Renders a section of a /config_dump document (and, for endpoints, of /clusters?format=json)
// as a table, or as JSON; returns an empty string and fills `out`, or the error.
std::string renderProxyConfig(const std::string& config_dump_json, const std::string& clusters_json,
                              const std::string& section, const std::string& format,
                              std::string& out);

int runProxyConfig(const std::string& proxy, const std::string& section, const std::string& format,
                   const ControlPlaneTarget& control_plane, std::ostream& out, std::ostream& err);

}  // namespace weft::cli
