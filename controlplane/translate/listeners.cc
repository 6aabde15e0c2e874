#include "controlplane/translate/listeners.h"

#include "controlplane/translate/names.h"

namespace weft::controlplane {
namespace {

void setAddress(weft::v1::Listener& listener, const std::string& address, uint32_t port) {
  listener.mutable_address()->set_address(address);
  listener.mutable_address()->set_port(port);
}

void routeHttp(weft::v1::FilterChain& chain, const std::string& stat_prefix,
               const std::string& route_config) {
  auto& http = *chain.mutable_http();
  http.set_stat_prefix(stat_prefix);
  http.set_route_config_name(route_config);
}

void secureInbound(weft::v1::FilterChain& chain, const InboundChainSecurity& security) {
  if (security.tls_mode) {
    auto& tls = *chain.mutable_tls();
    tls.set_mode(*security.tls_mode);
    if (*security.tls_mode != weft::v1::DownstreamTls::DISABLE) {
      tls.set_min_version(weft::v1::TLS_V1_3);
      // Written out although it is the default: the chain's mTLS must not rest on one.
      tls.mutable_require_client_certificate()->set_value(true);
    }
  }
  if (!security.policies.empty()) {
    auto& authorization = *chain.mutable_authorization();
    for (const std::string& policy : security.policies) {
      authorization.add_policies(policy);
    }
  }
  if (chain.has_http()) {
    *chain.mutable_http()->mutable_path_normalization() = inboundPathNormalization();
  }
}

weft::v1::Listener captureListener(std::string_view name, uint32_t listener_port,
                                   weft::v1::Listener::Direction direction,
                                   const std::vector<CaptureChain>& chains) {
  weft::v1::Listener listener;
  listener.set_name(std::string(name));
  setAddress(listener, "0.0.0.0", listener_port);
  listener.set_transparent(true);
  listener.set_direction(direction);
  for (const CaptureChain& entry : chains) {
    auto& chain = *listener.add_filter_chains();
    chain.set_name(std::to_string(entry.port));
    chain.mutable_match()->add_destination_ports(entry.port);
    const std::string stat_prefix = statPrefix(name, entry.port);
    if (entry.tcp_cluster.empty()) {
      routeHttp(chain, stat_prefix,
                direction == weft::v1::Listener::INBOUND ? inboundRouteConfigName(entry.port)
                                                         : outboundRouteConfigName(entry.port));
    } else {
      chain.mutable_tcp()->set_stat_prefix(stat_prefix);
      chain.mutable_tcp()->set_cluster(entry.tcp_cluster);
    }
    if (direction == weft::v1::Listener::INBOUND) {
      secureInbound(chain, entry.security);
    }
  }
  return listener;
}

}  // namespace

weft::v1::Listener localOutboundListener(uint32_t outbound_port) {
  weft::v1::Listener listener;
  listener.set_name(std::string(kOutboundListener));
  setAddress(listener, "127.0.0.1", outbound_port);
  listener.set_direction(weft::v1::Listener::OUTBOUND);
  auto& chain = *listener.add_filter_chains();
  chain.set_name("http");
  routeHttp(chain, statPrefix(kOutboundListener, outbound_port),
            std::string(kLocalOutboundRouteConfig));
  return listener;
}

weft::v1::PathNormalization inboundPathNormalization() {
  weft::v1::PathNormalization normalization;
  normalization.mutable_rfc3986()->set_value(true);
  normalization.set_merge_slashes(true);
  normalization.set_escaped_slashes(weft::v1::PathNormalization::REJECT);
  return normalization;
}

weft::v1::Listener localInboundListener(const std::string& address, uint32_t inbound_port,
                                        const InboundChainSecurity& security) {
  weft::v1::Listener listener;
  listener.set_name(std::string(kInboundListener));
  setAddress(listener, address, inbound_port);
  listener.set_direction(weft::v1::Listener::INBOUND);
  auto& chain = *listener.add_filter_chains();
  chain.set_name("http");
  routeHttp(chain, statPrefix(kInboundListener, inbound_port),
            inboundRouteConfigName(inbound_port));
  secureInbound(chain, security);
  return listener;
}

weft::v1::Listener captureOutboundListener(const std::vector<CaptureChain>& chains,
                                           std::string_view fallback_cluster) {
  weft::v1::Listener listener = captureListener(kOutboundListener, kOutboundCapturePort,
                                                weft::v1::Listener::OUTBOUND, chains);
  // No match: the chain of every destination port the chains above do not name.
  auto& chain = *listener.add_filter_chains();
  chain.set_name(std::string(fallback_cluster));
  chain.mutable_tcp()->set_stat_prefix(std::string(kOutboundListener) + "_" +
                                       std::string(fallback_cluster));
  chain.mutable_tcp()->set_cluster(std::string(fallback_cluster));
  return listener;
}

weft::v1::Listener captureInboundListener(const std::vector<CaptureChain>& chains,
                                          const InboundChainSecurity& passthrough) {
  weft::v1::Listener listener =
      captureListener(kInboundListener, kInboundCapturePort, weft::v1::Listener::INBOUND, chains);
  auto& chain = *listener.add_filter_chains();
  chain.set_name(std::string(kInboundPassthroughCluster));
  chain.mutable_tcp()->set_stat_prefix(std::string(kInboundListener) + "_passthrough");
  chain.mutable_tcp()->set_cluster(std::string(kInboundPassthroughCluster));
  secureInbound(chain, passthrough);
  return listener;
}

weft::v1::Listener ipv6Twin(weft::v1::Listener listener) {
  listener.set_name(listener.name() + std::string(kIpv6ListenerSuffix));
  listener.mutable_address()->set_address("::");
  return listener;
}

void setTelemetry(weft::v1::Listener& listener, const ChainTelemetry& telemetry) {
  for (auto& chain : *listener.mutable_filter_chains()) {
    if (chain.has_http()) {
      if (telemetry.access_log) {
        *chain.mutable_http()->mutable_access_log() = *telemetry.access_log;
      }
      if (telemetry.tracing) {
        *chain.mutable_http()->mutable_tracing() = *telemetry.tracing;
      }
    } else if (chain.has_tcp() && telemetry.access_log) {
      *chain.mutable_tcp()->mutable_access_log() = *telemetry.access_log;
    }
  }
}

}  // namespace weft::controlplane
