#pragma once

#include <ostream>
#include <string>

#include "cli/control_plane_channel.h"
#include "weft/v1/proxy_status.pb.h"

namespace weft::cli {

// `weftctl proxy-status [proxy]`: asks the control plane which proxies are connected and
// whether each runs the latest configuration of every resource type.

// Fetches the list; returns an empty string or the error in plain words.
std::string fetchProxyStatus(const ControlPlaneTarget& control_plane,
                             weft::v1::ListProxiesResponse& out);

// The table of all proxies: one row each, one column per resource type with SYNCED,
// NOT SENT, STALE or REJECTED, followed by the reason of every rejection.
std::string renderProxyStatusTable(const weft::v1::ListProxiesResponse& response);

// One proxy in detail: per type the versions sent and acknowledged, counters, last error.
// Empty when no proxy has that id.
std::string renderProxyStatusDetail(const weft::v1::ListProxiesResponse& response,
                                    const std::string& proxy_id);

int runProxyStatus(const ControlPlaneTarget& control_plane, const std::string& proxy_id,
                   std::ostream& out, std::ostream& err);

}  // namespace weft::cli
