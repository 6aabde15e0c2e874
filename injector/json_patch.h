#pragma once

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>

namespace weft::injector {

// A JSON Pointer (RFC 6901) reference token: "~" becomes "~0" and "/" becomes "~1", so an
// annotation key such as "prometheus.io/port" can be a path segment.
std::string escapePointerToken(std::string_view token);

// Applies RFC 6902 operations (add, remove, replace, test, move, copy) to `document`, in
// order. On the first operation that cannot apply, returns false with `error` naming the
// operation's index and path; `document` may then be partly patched. Never throws.
bool applyJsonPatch(boost::json::value& document, const boost::json::array& patch,
                    std::string& error);

}  // namespace weft::injector
