#pragma once

#include <spdlog/common.h>
#include <optional>
#include <string_view>

namespace weft::log {

// Parses a level name as given on the command line, in config or to the admin endpoint:
// trace, debug, info, warning (or warn), error, critical, off. Case-insensitive, because
// operators type "INFO" as often as "info". Returns nullopt for anything else.
std::optional<spdlog::level::level_enum> parseLogLevel(std::string_view name);

// The canonical name of a level, the one parseLogLevel() accepts and logs print.
std::string_view logLevelName(spdlog::level::level_enum level);

}  // namespace weft::log
