#include "common/log/log_level.h"

#include <array>
#include <utility>

namespace weft::log {

namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (c != b[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<spdlog::level::level_enum> parseLogLevel(std::string_view name) {
  using spdlog::level::level_enum;
  static constexpr std::array<std::pair<std::string_view, level_enum>, 8> kNames = {{
      {"trace", level_enum::trace},
      {"debug", level_enum::debug},
      {"info", level_enum::info},
      {"warning", level_enum::warn},
      {"warn", level_enum::warn},
      {"error", level_enum::err},
      {"critical", level_enum::critical},
      {"off", level_enum::off},
  }};
  for (const auto& [level_name, level] : kNames) {
    if (equalsIgnoreCase(name, level_name)) {
      return level;
    }
  }
  return std::nullopt;
}

std::string_view logLevelName(spdlog::level::level_enum level) {
  // spdlog's own names ("warning", "error", ...) are the canonical ones; using them keeps the
  // text and JSON formats and the admin endpoint in agreement.
  const auto name = spdlog::level::to_string_view(level);
  return {name.data(), name.size()};
}

}  // namespace weft::log
