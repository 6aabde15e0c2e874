#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace weft::controlplane {

// The names of the resources the control plane generates (docs/xds-protocol.md §7). They are
// read by people in metrics, logs and NACKs, so every name is built here and nowhere else.

// Listener names.
inline constexpr std::string_view kOutboundListener = "outbound";
inline constexpr std::string_view kInboundListener = "inbound";

// The Secret with the mesh's trusted roots that mesh TLS chains and clusters verify peers with
// (their default validation_secret).
inline constexpr std::string_view kTrustBundleSecret = "trust-bundle";

// Capture ports of a sidecar whose traffic iptables redirects (ARCHITECTURE.md §1).
inline constexpr uint32_t kOutboundCapturePort = 15001;
inline constexpr uint32_t kInboundCapturePort = 15006;

// The clusters of a capture sidecar's catch-all outbound chain (MeshConfig
// outboundTrafficPolicy): ORIGINAL_DST for ALLOW_ANY, no endpoints for REGISTRY_ONLY.
inline constexpr std::string_view kPassthroughCluster = "passthrough";
inline constexpr std::string_view kBlackholeCluster = "blackhole";
// The cluster of a capture sidecar's catch-all inbound chain: a port no service declares is
// passed to the application on loopback, at the port the caller dialled.
inline constexpr std::string_view kInboundPassthroughCluster = "inbound-passthrough";
// Appended to a capture listener's name for its twin on [::], for pods with IPv6.
inline constexpr std::string_view kIpv6ListenerSuffix = "-ipv6";

// "<name>.<namespace>.<dns suffix>", e.g. "reviews.default.svc.cluster.local".
std::string serviceFqdn(std::string_view name, std::string_view namespace_,
                        std::string_view dns_suffix);

// "outbound/<fqdn>:<port>" or, for a subset, "outbound/<fqdn>:<port>/<subset>".
std::string outboundClusterName(std::string_view fqdn, uint32_t port, std::string_view subset = {});

// "inbound/<port>": the local application's port.
std::string inboundClusterName(uint32_t port);

// "outbound/<port>" and "inbound/<port>": route configurations. In local mode the port is the
// sidecar's listener port, with traffic capture the destination port.
std::string outboundRouteConfigName(uint32_t port);

// Local mode: the one route configuration of a sidecar's outbound listener, for every HTTP port
// of the services it sees. A fixed name, so the sidecars of a namespace share one resource.
inline constexpr std::string_view kLocalOutboundRouteConfig = "outbound/local";
std::string inboundRouteConfigName(uint32_t port);

// "<fqdn>:<port>".
std::string virtualHostName(std::string_view fqdn, uint32_t port);

// "<namespace>/<TrafficRoute>/<rule name or index>".
std::string ruleRouteName(std::string_view namespace_, std::string_view traffic_route,
                          std::string_view rule_name, size_t rule_index);

// "spiffe://<trust domain>/ns/<namespace>/sa/<service account>".
std::string spiffeId(std::string_view trust_domain, std::string_view namespace_,
                     std::string_view service_account);

// Stat prefix of a connection manager or TCP proxy: "<direction>_<port>".
std::string statPrefix(std::string_view direction, uint32_t port);

}  // namespace weft::controlplane
