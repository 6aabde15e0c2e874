#pragma once

#include <boost/json/object.hpp>
#include <optional>
#include <string>

#include "injector/injection_settings.h"

namespace weft::injector {

// What a pod's weft.dev annotations ask of its injection, checked.
struct PodInjectionOptions {
  SidecarMode mode = SidecarMode::kNative;
  bool rewrite_app_probes = true;
  // Normalized comma-separated lists for `weft-proxy init` (empty: none).
  std::string exclude_inbound_ports;
  std::string exclude_outbound_ports;
  std::string exclude_outbound_cidrs;
};

// Reads the annotations of `metadata` (may be null) over `defaults`. Returns nullopt with
// `error` naming the annotation and what is wrong with its value.
std::optional<PodInjectionOptions> readPodInjectionOptions(const boost::json::object* metadata,
                                                           SidecarMode default_mode,
                                                           std::string& error);

// "8080, 9090" -> "8080,9090"; each a port 1-65535. nullopt when one is not.
std::optional<std::string> normalizePortList(std::string_view text);

// "10.0.0.0/8, fd00::/8" -> "10.0.0.0/8,fd00::/8"; each an IPv4 or IPv6 network (or a bare
// address). nullopt when one is not.
std::optional<std::string> normalizeCidrList(std::string_view text);

}  // namespace weft::injector
