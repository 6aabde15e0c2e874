#include "injector/injection_settings.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "injector/kubernetes_quantity.h"

namespace weft::injector {

const char* sidecarModeName(SidecarMode mode) {
  return mode == SidecarMode::kNative ? "native" : "classic";
}

namespace {

bool setQuantity(const std::string& key, const std::string& value, std::string& field,
                 std::string& error) {
  if (!value.empty() && !isKubernetesQuantity(value)) {
    error = key + ": '" + value + "' is not a Kubernetes quantity (e.g. 100m, 64Mi)";
    return false;
  }
  field = value;
  return true;
}

// An image reference as the kubelet takes it: no whitespace or control characters.
bool isImageReference(const std::string& value) {
  return !value.empty() && value.size() <= 512 &&
         std::none_of(value.begin(), value.end(),
                      [](unsigned char c) { return c <= ' ' || c == 0x7f; });
}

// A DNS name or IP literal followed by ":port".
bool splitHostPort(const std::string& value, std::string& host, uint16_t& port) {
  const size_t colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return false;
  }
  std::string_view host_part(value.data(), colon);
  if (host_part.front() == '[') {
    if (host_part.back() != ']') {
      return false;
    }
    host_part = host_part.substr(1, host_part.size() - 2);
  }
  const char* begin = value.data() + colon + 1;
  const char* end = value.data() + value.size();
  unsigned number = 0;
  const auto [last, ec] = std::from_chars(begin, end, number);
  if (ec != std::errc() || last != end || number == 0 || number > 65535 || host_part.empty() ||
      std::any_of(host_part.begin(), host_part.end(), [](unsigned char c) {
        return !(std::isalnum(c) || c == '.' || c == '-' || c == ':');
      })) {
    return false;
  }
  host = host_part;
  port = static_cast<uint16_t>(number);
  return true;
}

}  // namespace

bool applySetting(const std::string& key, const std::string& value, InjectionSettings& settings,
                  std::string& error) {
  if (key == "proxyImage") {
    if (!isImageReference(value)) {
      error = "proxyImage: '" + value + "' is not an image reference";
      return false;
    }
    settings.proxy_image = value;
  } else if (key == "imagePullPolicy") {
    if (value != "Always" && value != "IfNotPresent" && value != "Never") {
      error = "imagePullPolicy: '" + value + "' is not Always, IfNotPresent or Never";
      return false;
    }
    settings.image_pull_policy = value;
  } else if (key == "sidecarMode") {
    if (value == "native") {
      settings.mode = SidecarMode::kNative;
    } else if (value == "classic") {
      settings.mode = SidecarMode::kClassic;
    } else {
      error = "sidecarMode: '" + value + "' is not native or classic";
      return false;
    }
  } else if (key == "controlPlaneAddress") {
    if (!splitHostPort(value, settings.control_plane_host, settings.control_plane_port)) {
      error = "controlPlaneAddress: '" + value + "' is not host:port";
      return false;
    }
  } else if (key == "tokenAudience") {
    if (value.empty() || value.size() > 253 ||
        std::any_of(value.begin(), value.end(),
                    [](unsigned char c) { return c <= ' ' || c == 0x7f || c == '"'; })) {
      error = "tokenAudience: '" + value + "' is not an audience";
      return false;
    }
    settings.token_audience = value;
  } else if (key == "proxyCpuRequest") {
    return setQuantity(key, value, settings.proxy_cpu_request, error);
  } else if (key == "proxyMemoryRequest") {
    return setQuantity(key, value, settings.proxy_memory_request, error);
  } else if (key == "proxyCpuLimit") {
    return setQuantity(key, value, settings.proxy_cpu_limit, error);
  } else if (key == "proxyMemoryLimit") {
    return setQuantity(key, value, settings.proxy_memory_limit, error);
  } else if (key == "proxyLogLevel") {
    static constexpr std::string_view kLevels[] = {"trace", "debug",    "info", "warning",
                                                   "error", "critical", "off"};
    if (std::find(std::begin(kLevels), std::end(kLevels), value) == std::end(kLevels)) {
      error = "proxyLogLevel: '" + value +
              "' is not trace, debug, info, warning, error, critical or off";
      return false;
    }
    settings.proxy_log_level = value;
  } else {
    error = "unknown key '" + key +
            "' (known: proxyImage, imagePullPolicy, sidecarMode, controlPlaneAddress, "
            "tokenAudience, proxyCpuRequest, proxyMemoryRequest, proxyCpuLimit, "
            "proxyMemoryLimit, proxyLogLevel)";
    return false;
  }
  return true;
}

bool loadSettingsDirectory(const std::string& directory, const InjectionSettings& base,
                           InjectionSettings& out, std::string& error) {
  namespace fs = std::filesystem;
  // Sorted, so that the first error reported does not depend on the directory's order.
  std::map<std::string, std::string> entries;
  std::error_code ec;
  fs::directory_iterator it(directory, ec);
  if (ec) {
    error = directory + ": " + ec.message();
    return false;
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    // The kubelet's atomic-writer entries ("..data", "..2026_11_28_...") are not keys.
    if (name.starts_with(".")) {
      continue;
    }
    if (!fs::is_regular_file(it->path(), ec)) {
      continue;
    }
    constexpr uintmax_t kMaxValueBytes = 64 * 1024;
    if (fs::file_size(it->path(), ec) > kMaxValueBytes) {
      error = directory + "/" + name + ": larger than 64 KiB";
      return false;
    }
    std::ifstream file(it->path(), std::ios::binary);
    std::ostringstream text;
    text << file.rdbuf();
    if (!file) {
      error = directory + "/" + name + ": cannot be read";
      return false;
    }
    std::string value = text.str();
    // A value written as a YAML block scalar ends in a newline that is not part of it.
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) {
      value.pop_back();
    }
    entries.emplace(name, std::move(value));
  }
  if (ec) {
    error = directory + ": " + ec.message();
    return false;
  }
  InjectionSettings settings = base;
  for (const auto& [key, value] : entries) {
    std::string reason;
    if (!applySetting(key, value, settings, reason)) {
      error = directory + "/" + key + ": " + reason;
      return false;
    }
  }
  out = std::move(settings);
  return true;
}

}  // namespace weft::injector
