#pragma once

#include <sys/types.h>
#include <string>
#include <string_view>

namespace weft::fs {

// Replaces the file at `path` with `contents` so that a reader sees either the old file or the
// new one, never a part: writes `path`.tmp with permissions `mode`, flushes it to disk, and
// renames it over `path`. Returns an empty string, or what failed with the path and errno's
// text (the temporary file is removed then).
std::string replaceFileAtomically(const std::string& path, std::string_view contents, mode_t mode);

}  // namespace weft::fs
