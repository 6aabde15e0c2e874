#include "injector/pod_annotations.h"

#include <arpa/inet.h>

#include <charconv>

#include "common/kube/json_fields.h"
#include "injector/pod_injector.h"

namespace weft::injector {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// Calls `item` for each comma-separated, trimmed, non-empty entry; false when one fails.
template <typename Item>
bool forEachItem(std::string_view text, Item&& item) {
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string_view entry =
        trim(text.substr(start, comma == std::string_view::npos ? text.npos : comma - start));
    if (!entry.empty() && !item(entry)) {
      return false;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    start = comma + 1;
  }
  return true;
}

bool isPort(std::string_view text) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && value >= 1 && value <= 65535;
}

bool isNetwork(std::string_view text) {
  const size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  unsigned char buffer[sizeof(in6_addr)];
  int max_prefix = 0;
  if (inet_pton(AF_INET, address.c_str(), buffer) == 1) {
    max_prefix = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), buffer) == 1) {
    max_prefix = 128;
  } else {
    return false;
  }
  if (slash == std::string_view::npos) {
    return true;
  }
  const std::string_view prefix = text.substr(slash + 1);
  int length = -1;
  const auto [end, ec] = std::from_chars(prefix.data(), prefix.data() + prefix.size(), length);
  return ec == std::errc() && end == prefix.data() + prefix.size() && !prefix.empty() &&
         length >= 0 && length <= max_prefix;
}

template <typename Check>
std::optional<std::string> normalizeList(std::string_view text, Check&& check) {
  std::string out;
  const bool ok = forEachItem(text, [&](std::string_view entry) {
    if (!check(entry)) {
      return false;
    }
    if (!out.empty()) {
      out += ',';
    }
    out += entry;
    return true;
  });
  return ok ? std::optional<std::string>(std::move(out)) : std::nullopt;
}

}  // namespace

std::optional<std::string> normalizePortList(std::string_view text) {
  return normalizeList(text, isPort);
}

std::optional<std::string> normalizeCidrList(std::string_view text) {
  return normalizeList(text, isNetwork);
}

std::optional<PodInjectionOptions> readPodInjectionOptions(const boost::json::object* metadata,
                                                           SidecarMode default_mode,
                                                           std::string& error) {
  PodInjectionOptions options;
  options.mode = default_mode;
  const boost::json::object* annotations =
      metadata != nullptr ? kube::objectField(*metadata, "annotations") : nullptr;
  if (annotations == nullptr) {
    return options;
  }
  auto annotation = [&](std::string_view key) { return kube::stringField(*annotations, key); };
  auto invalid = [&](std::string_view key, std::string_view value, std::string_view expected) {
    error = "annotation " + std::string(key) + ": '" + std::string(value) + "' is not " +
            std::string(expected);
    return std::nullopt;
  };
  if (const std::string_view mode = annotation(kSidecarModeAnnotation); !mode.empty()) {
    if (mode == "native") {
      options.mode = SidecarMode::kNative;
    } else if (mode == "classic") {
      options.mode = SidecarMode::kClassic;
    } else {
      return invalid(kSidecarModeAnnotation, mode, "native or classic");
    }
  }
  if (const std::string_view rewrite = annotation(kRewriteAppProbesAnnotation); !rewrite.empty()) {
    if (rewrite != "true" && rewrite != "false") {
      return invalid(kRewriteAppProbesAnnotation, rewrite, "true or false");
    }
    options.rewrite_app_probes = rewrite == "true";
  }
  const struct {
    std::string_view key;
    std::string PodInjectionOptions::*field;
    bool cidrs;
  } lists[] = {
      {kExcludeInboundPortsAnnotation, &PodInjectionOptions::exclude_inbound_ports, false},
      {kExcludeOutboundPortsAnnotation, &PodInjectionOptions::exclude_outbound_ports, false},
      {kExcludeOutboundCidrsAnnotation, &PodInjectionOptions::exclude_outbound_cidrs, true},
  };
  for (const auto& list : lists) {
    const std::string_view value = annotation(list.key);
    if (value.empty()) {
      continue;
    }
    auto normalized = list.cidrs ? normalizeCidrList(value) : normalizePortList(value);
    if (!normalized) {
      return invalid(list.key, value,
                     list.cidrs ? "a comma-separated list of IPv4 or IPv6 networks"
                                : "a comma-separated list of ports (1-65535)");
    }
    options.*list.field = std::move(*normalized);
  }
  return options;
}

}  // namespace weft::injector
