#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "weft/v1/listener.pb.h"

namespace weft::controlplane {

// Local mode (a Workload with a sidecar block, no traffic capture): the application sends
// plain HTTP to 127.0.0.1:<outbound_port> with the destination in the Host header; one HTTP
// chain routes it with the route configuration "outbound/local".
weft::v1::Listener localOutboundListener(uint32_t outbound_port);

// What an inbound filter chain enforces before its handler.
struct InboundChainSecurity {
  // Mesh TLS termination in this mode (STRICT and PERMISSIVE: TLS 1.3 at least, client
  // certificate required, the "identity" and "trust-bundle" secrets). Unset: no tls block, as
  // without a certificate authority.
  std::optional<weft::v1::DownstreamTls::Mode> tls_mode;
  // Names of the AuthorizationPolicy resources that apply, sorted. Empty: no authorization.
  std::vector<std::string> policies;
};

// Local mode: callers' proxies connect to <address>:<inbound_port>; one HTTP chain routes by
// Host with "inbound/<inbound_port>" to the application's ports.
weft::v1::Listener localInboundListener(const std::string& address, uint32_t inbound_port,
                                        const InboundChainSecurity& security);

// A filter chain of a capture listener, for one destination port.
struct CaptureChain {
  uint32_t port = 0;
  // TCP: the cluster the connection is forwarded to. Empty: HTTP, routed with the route
  // configuration "<direction>/<port>".
  std::string tcp_cluster;
  // Inbound chains only.
  InboundChainSecurity security;
};

// The path normalization of inbound HTTP chains, which authorization paths are matched
// against: RFC 3986 normalization, merged slashes, and 400 for encoded slashes or
// backslashes, so no spelling of a path can pass a rule that its decoded form would not.
weft::v1::PathNormalization inboundPathNormalization();

// Traffic capture (iptables REDIRECT): "outbound" on 0.0.0.0:15001 and "inbound" on
// 0.0.0.0:15006, transparent, one chain per destination port, in the order given.
// The outbound listener ends with a catch-all TCP chain to `fallback_cluster` (a destination
// port no service has).
weft::v1::Listener captureOutboundListener(const std::vector<CaptureChain>& chains,
                                           std::string_view fallback_cluster);
// The inbound listener ends with a catch-all TCP chain to "inbound-passthrough", secured as
// `passthrough` says (the workload's mode for ports without a port_modes entry), so a port no
// service declares still reaches the application as opaque TCP.
weft::v1::Listener captureInboundListener(const std::vector<CaptureChain>& chains,
                                          const InboundChainSecurity& passthrough);

// The same capture listener on [::] (the proxy sets IPV6_V6ONLY, so both bind), named
// "<name>-ipv6": `weft-proxy init` redirects a dual-stack pod's IPv6 connections to the same
// ports as its IPv4 ones.
weft::v1::Listener ipv6Twin(weft::v1::Listener listener);

// MeshConfig's telemetry settings for every chain: the access log on HTTP and TCP chains,
// tracing on HTTP chains. Unset ones leave the chains as they are.
struct ChainTelemetry {
  std::optional<weft::v1::AccessLog> access_log;
  std::optional<weft::v1::Tracing> tracing;
};
void setTelemetry(weft::v1::Listener& listener, const ChainTelemetry& telemetry);

}  // namespace weft::controlplane
