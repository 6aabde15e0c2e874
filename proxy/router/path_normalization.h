#pragma once

#include <string>
#include <string_view>

namespace weft::proxy {

// How a listener normalizes request paths (the API's PathNormalization).
struct PathNormalizationConfig {
  enum class EscapedSlashes : uint8_t { kKeep, kReject, kUnescape };
  bool rfc3986 = true;
  bool merge_slashes = false;
  EscapedSlashes escaped_slashes = EscapedSlashes::kKeep;
};

enum class PathVerdict : uint8_t {
  kUnchanged,     // the target is already normal; `out` is untouched
  kRewritten,     // `out` holds the normalized target
  kInvalid,       // bad percent-encoding or not an origin-form path: 400
  kEscapedSlash,  // %2F / %5C with escaped_slashes REJECT: 400
};

// Normalizes the path of an origin-form request target ("/a/./b?q") once, before
// routing and authorization see it, so that "/admin" cannot be reached as
// "/public/../admin" or "/%61dmin" around a route or a policy. The query is
// kept byte for byte. Steps, in order: escaped slashes (reject / unescape),
// RFC 3986 section 6.2.2 (decode unreserved, uppercase remaining escapes,
// remove dot segments, never above the root), then slash merging.
//
// The common case (a path with no '%', no dot segment, no "//") is detected in
// one pass without allocating.
PathVerdict normalizePath(std::string_view target, const PathNormalizationConfig& config,
                          std::string& out);

}  // namespace weft::proxy
