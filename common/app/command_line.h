#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string_view>

namespace weft {

// Describes one binary for the shared command-line handling.
struct ProgramInfo {
  std::string_view name;     // e.g. "weft-proxy"
  std::string_view summary;  // one line: what the binary is for
  std::string_view usage;    // e.g. "weft-proxy [options]"
};

// Parses argv against `options` (to which --help and --version are added).
//
// Returns an exit code when the process should stop now: 0 after printing help
// or the version, 2 after printing a usage error to stderr. Returns nullopt when
// the caller should go on with `values` filled in.
std::optional<int> parseCommandLine(int argc, const char* const argv[], const ProgramInfo& program,
                                    boost::program_options::options_description& options,
                                    boost::program_options::variables_map& values);

// The same, for programs that take positional arguments (weftctl's command and its
// arguments): `positional` maps them to options declared in `options`.
std::optional<int> parseCommandLine(
    int argc, const char* const argv[], const ProgramInfo& program,
    boost::program_options::options_description& options,
    const boost::program_options::positional_options_description& positional,
    boost::program_options::variables_map& values);

}  // namespace weft
