#pragma once

#include <string>
#include <string_view>

namespace weft {

// The release version, e.g. "0.1.0".
std::string_view version();

// The commit the binary was built from (git describe), or "unknown".
std::string_view gitCommit();

// One line for `--version` output: "<program> 0.1.0 (commit abc, RelWithDebInfo)".
std::string versionLine(std::string_view program);

}  // namespace weft
