#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace weft::xds_sim {

// One line of the simulator's control protocol (stdin, or --commands). Every command is
// answered with exactly one JSON line on stdout, in order ({"event":"error",...} for a line
// that does not parse); the wait commands answer when their condition holds or their timeout
// passed, and hold the commands behind them until then.
//
//   wait-synced <timeout-s>                  every proxy's current stream is synced
//   watch <id> <cla-name> <address>:<port>   from now on, note which of the proxies that
//                                            subscribe to <cla-name> receive a
//                                            ClusterLoadAssignment of that name holding
//                                            the endpoint
//   wait-change <id> <timeout-s>             all of them did; the answer gives the times and
//                                            ends the watch
//   status                                   counters, CPU and memory of the simulator
//   proxy <index>                            one proxy's state and endpoint versions
//   quit                                     a summary, then the simulator ends (also at EOF)
struct ControlCommand {
  // kInvalid: a line that did not parse, answered with an error in its turn.
  enum class Kind { kWaitSynced, kWatch, kWaitChange, kStatus, kProxy, kQuit, kInvalid };
  Kind kind = Kind::kStatus;
  double timeout_seconds = 0;
  std::string id;
  std::string cluster;
  std::string address;
  uint32_t port = 0;
  size_t proxy = 0;
  std::string error;  // kInvalid
};

// Parses one line. Returns the command, or nullopt with `error` set. Blank lines and lines
// starting with '#' give nullopt with an empty error.
std::optional<ControlCommand> parseControlCommand(std::string_view line, std::string& error);

}  // namespace weft::xds_sim
