#pragma once

#include <re2/re2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/router/request_view.h"

namespace weft::proxy {

// A condition on one string value (a header's or a query parameter's), compiled
// once from the API's HeaderMatcher / QueryParameterMatcher.
struct ValueMatcher {
  enum class Kind : uint8_t { kExact, kPrefix, kSuffix, kContains, kRegex, kPresent, kRange };

  Kind kind = Kind::kPresent;
  bool ignore_case = false;  // exact, prefix, suffix, contains: ASCII case-insensitive
  std::string text;          // with ignore_case, stored lower-case
  std::unique_ptr<RE2> regex;
  int64_t range_start = 0;  // inclusive
  int64_t range_end = 0;    // exclusive

  // Whether a present value fits (kPresent: always true).
  bool matches(std::string_view value) const;
};

// One header condition of a route. `present` (for Kind::kPresent) says whether
// the header must be there or absent; `invert` negates the whole result.
struct HeaderMatchConfig {
  std::string name;  // lower-case; pseudo-headers (":method", ...) allowed
  ValueMatcher value;
  bool present = true;
  bool invert = false;

  bool matches(const RequestView& request, std::string& scratch) const;
};

// One query-parameter condition. Names and values compare percent-decoded; a
// parameter given several times fits when any of its occurrences does.
struct QueryMatchConfig {
  std::string name;
  ValueMatcher value;
  bool present = true;
  bool invert = false;

  bool matches(std::string_view query, std::string& name_scratch, std::string& value_scratch) const;
};

// The conditions of a route besides its path; all must hold.
struct RequestConditions {
  std::vector<HeaderMatchConfig> headers;
  std::vector<QueryMatchConfig> query_parameters;
  std::vector<std::string> methods;  // any of them; empty: any method

  bool empty() const { return headers.empty() && query_parameters.empty() && methods.empty(); }
  bool matches(const RequestView& request) const;
};

// Percent-decodes `text` ("%2F" -> "/") into `out` and returns a view of the
// result; text without '%' is returned as is. A malformed escape is kept
// literally, as browsers and Envoy do.
std::string_view percentDecode(std::string_view text, std::string& out);

}  // namespace weft::proxy
