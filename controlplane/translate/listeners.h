#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "weft/v1/listener.pb.h"

namespace weft::controlplane {

// Local mode (a Workload with a sidecar block, no traffic capture): the application sends
// plain HTTP to 127.0.0.1:<outbound_port> with the destination in the Host header; one HTTP
// chain routes it with the route configuration "outbound/local".
weft::v1::Listener localOutboundListener(uint32_t outbound_port);

// Local mode: callers' proxies connect to <address>:<inbound_port>; one HTTP chain routes by
// Host with "inbound/<inbound_port>" to the application's ports.
weft::v1::Listener localInboundListener(const std::string& address, uint32_t inbound_port);

// A filter chain of a capture listener, for one destination port.
struct CaptureChain {
  uint32_t port = 0;
  // TCP: the cluster the connection is forwarded to. Empty: HTTP, routed with the route
  // configuration "<direction>/<port>".
  std::string tcp_cluster;
};

// Traffic capture (iptables REDIRECT): "outbound" on 0.0.0.0:15001 and "inbound" on
// 0.0.0.0:15006, transparent, one chain per destination port, in the order given.
weft::v1::Listener captureOutboundListener(const std::vector<CaptureChain>& chains);
weft::v1::Listener captureInboundListener(const std::vector<CaptureChain>& chains);

}  // namespace weft::controlplane
