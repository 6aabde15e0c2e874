#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace weft::proxy::init {

// What a finished command left: its exit status (-1: it could not be started, or died of a
// signal) and what it wrote to stdout and stderr together.
struct CommandResult {
  int status = -1;
  std::string output;
};

// Runs `args` (args[0] looked up in PATH) with `input` on its stdin and waits for it. The
// rule writers are short-lived system tools with small inputs and outputs: the input is
// written whole before the output is read.
CommandResult runCommand(const std::vector<std::string>& args, std::string_view input = {});

}  // namespace weft::proxy::init
