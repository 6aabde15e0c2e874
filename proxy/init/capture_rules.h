#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace weft::proxy::init {

// How a pod's TCP traffic is sent through its sidecar (`weft-proxy init`), as iptables nat
// rules in the pod's network namespace.
struct CaptureOptions {
  uint32_t proxy_uid = 1337;  // the proxy's own connections are never captured
  uint32_t proxy_gid = 1337;
  uint16_t inbound_capture_port = 15006;
  uint16_t outbound_capture_port = 15001;
  bool capture_inbound = true;
  bool capture_outbound = true;
  // Ports of the pod that callers reach directly (besides the proxy's own, always excluded).
  std::vector<uint16_t> exclude_inbound_ports;
  // Destination ports and networks the app reaches directly.
  std::vector<uint16_t> exclude_outbound_ports;
  std::vector<std::string> exclude_outbound_cidrs;  // either family; each gets its own
};

enum class IpFamily { kIpv4, kIpv6 };

// The proxy's own ports that inbound capture leaves alone: the status endpoint (metrics,
// readiness: Prometheus and the kubelet reach it directly), and the admin port, which listens
// on loopback only and must stay out of reach even of an inbound passthrough to loopback.
inline constexpr uint16_t kStatusPort = 15020;
inline constexpr uint16_t kAdminPort = 15000;

// The chains `weft-proxy init` owns, in the nat table.
inline constexpr std::string_view kInboundChain = "WEFT_INBOUND";
inline constexpr std::string_view kInboundRedirectChain = "WEFT_IN_REDIRECT";
inline constexpr std::string_view kOutputChain = "WEFT_OUTPUT";
inline constexpr std::string_view kOutboundRedirectChain = "WEFT_REDIRECT";

// The nat table's part as iptables-restore input for `--noflush`: the four chains declared
// (which empties them when they exist, so a second run replaces rather than adds) and their
// rules. The built-in chains' jumps are not in it (see captureJumps).
std::string captureRestoreScript(const CaptureOptions& options, IpFamily family);

// The rules in the built-in chains that send TCP to the owned chains: each is added once,
// after a check (-C) that it is not there yet.
struct JumpRule {
  std::string chain;              // PREROUTING or OUTPUT
  std::vector<std::string> spec;  // the rule's match and target
};
std::vector<JumpRule> captureJumps(const CaptureOptions& options);

// "15020,8080" (or empty): the ports, or an error naming `flag` and the bad item.
std::optional<std::vector<uint16_t>> parsePortList(std::string_view text, std::string_view flag,
                                                   std::string& error);

// "10.0.0.0/8,fd00::/8" (or empty): the networks in canonical form, or an error naming
// `flag` and the bad item. A bare address is a /32 (/128).
std::optional<std::vector<std::string>> parseCidrList(std::string_view text, std::string_view flag,
                                                      std::string& error);

// Whether a network (as parseCidrList returns it) is IPv6.
bool isIpv6Cidr(std::string_view cidr);

}  // namespace weft::proxy::init
