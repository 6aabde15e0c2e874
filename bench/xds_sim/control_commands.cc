#include "bench/xds_sim/control_commands.h"

#include <charconv>
#include <cmath>
#include <vector>

namespace weft::xds_sim {

namespace {

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t at = 0;
  while (at < line.size()) {
    const size_t start = line.find_first_not_of(" \t\r", at);
    if (start == std::string_view::npos) {
      break;
    }
    const size_t end = std::min(line.find_first_of(" \t\r", start), line.size());
    out.push_back(line.substr(start, end - start));
    at = end;
  }
  return out;
}

bool parseSeconds(std::string_view text, double& out) {
  // from_chars: independent of the locale, and the whole word has to be the number.
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size() && std::isfinite(out) && out >= 0;
}

template <typename Integer>
bool parseInteger(std::string_view text, Integer& out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::optional<ControlCommand> parseControlCommand(std::string_view line, std::string& error) {
  error.clear();
  const std::vector<std::string_view> args = words(line);
  if (args.empty() || args[0].front() == '#') {
    return std::nullopt;
  }
  const std::string_view name = args[0];
  auto expect = [&](size_t count, const char* usage) {
    if (args.size() != count + 1) {
      error = std::string("usage: ") + usage;
      return false;
    }
    return true;
  };
  ControlCommand command;
  if (name == "wait-synced") {
    if (!expect(1, "wait-synced <timeout-s>")) {
      return std::nullopt;
    }
    command.kind = ControlCommand::Kind::kWaitSynced;
    if (!parseSeconds(args[1], command.timeout_seconds)) {
      error = "wait-synced: the timeout must be a number of seconds";
      return std::nullopt;
    }
  } else if (name == "watch") {
    if (!expect(3, "watch <id> <cla-name> <address>:<port>")) {
      return std::nullopt;
    }
    command.kind = ControlCommand::Kind::kWatch;
    command.id = args[1];
    command.cluster = args[2];
    const std::string_view endpoint = args[3];
    const size_t colon = endpoint.rfind(':');
    if (colon == std::string_view::npos || colon == 0 ||
        !parseInteger(endpoint.substr(colon + 1), command.port) || command.port == 0 ||
        command.port > 65535) {
      error = "watch: the endpoint must be <address>:<port>";
      return std::nullopt;
    }
    command.address = endpoint.substr(0, colon);
  } else if (name == "wait-change") {
    if (!expect(2, "wait-change <id> <timeout-s>")) {
      return std::nullopt;
    }
    command.kind = ControlCommand::Kind::kWaitChange;
    command.id = args[1];
    if (!parseSeconds(args[2], command.timeout_seconds)) {
      error = "wait-change: the timeout must be a number of seconds";
      return std::nullopt;
    }
  } else if (name == "status") {
    if (!expect(0, "status")) {
      return std::nullopt;
    }
    command.kind = ControlCommand::Kind::kStatus;
  } else if (name == "proxy") {
    if (!expect(1, "proxy <index>") || !parseInteger(args[1], command.proxy)) {
      error = "usage: proxy <index>";
      return std::nullopt;
    }
    command.kind = ControlCommand::Kind::kProxy;
  } else if (name == "quit") {
    if (!expect(0, "quit")) {
      return std::nullopt;
    }
    command.kind = ControlCommand::Kind::kQuit;
  } else {
    error = "unknown command '" + std::string(name) +
            "' (wait-synced, watch, wait-change, status, proxy, quit)";
    return std::nullopt;
  }
  return command;
}

}  // namespace weft::xds_sim
