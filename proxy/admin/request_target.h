#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::proxy::admin {

// An origin-form request target ("/path?a=1&b") split into its path and decoded query
// parameters. The admin endpoint takes its few arguments from the query string, like Envoy's.
struct RequestTarget {
  std::string path;  // as sent, not decoded (admin paths are plain ASCII)
  // In order of appearance; "b" alone gives {"b", ""}. Percent-escapes and '+' decoded.
  std::vector<std::pair<std::string, std::string>> params;

  // The value of the first parameter named `name`, if any.
  std::optional<std::string_view> param(std::string_view name) const;
};

// Parses `target`. Returns nullopt, with `error` saying why, when it is not origin-form (does
// not start with '/'), holds a control character, space or '#', or has an invalid
// percent-escape.
std::optional<RequestTarget> parseRequestTarget(std::string_view target, std::string& error);

}  // namespace weft::proxy::admin
