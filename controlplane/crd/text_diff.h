#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace weft::controlplane::crd {

// A unified diff (as `diff -u` prints it, with two lines of context) that turns `before` into
// `after`, both split into lines. Empty when the texts are equal. At most `max_lines` changed
// lines are shown; a final line says how many more there were.
std::string unifiedDiff(std::string_view before_name, std::string_view before,
                        std::string_view after_name, std::string_view after, size_t max_lines = 60);

}  // namespace weft::controlplane::crd
