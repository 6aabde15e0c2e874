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

// Fills `out` from the string condition of a HeaderMatcher, QueryParameterMatcher or
// StringMatcher (the three share these oneof members): exact, prefix, suffix, contains
// (lower-cased when ignoring case) or an RE2 regex. Returns false when none of them is set.
// An invalid regex leaves `out.regex` null and says why in `regex_error`.
template <class Matcher>
bool readStringCondition(const Matcher& matcher, ValueMatcher& out, std::string& regex_error) {
  using Kind = ValueMatcher::Kind;
  out.ignore_case = matcher.ignore_case();
  auto text = [&](const std::string& value) {
    std::string copy = value;
    if (out.ignore_case) {
      for (char& c : copy) {
        c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      }
    }
    return copy;
  };
  if (matcher.has_exact()) {
    out.kind = Kind::kExact;
    out.text = text(matcher.exact());
  } else if (matcher.has_prefix()) {
    out.kind = Kind::kPrefix;
    out.text = text(matcher.prefix());
  } else if (matcher.has_suffix()) {
    out.kind = Kind::kSuffix;
    out.text = text(matcher.suffix());
  } else if (matcher.has_contains()) {
    out.kind = Kind::kContains;
    out.text = text(matcher.contains());
  } else if (matcher.has_regex()) {
    out.kind = Kind::kRegex;
    out.ignore_case = false;  // RE2 has (?i) for that
    RE2::Options options;
    options.set_log_errors(false);
    out.regex = std::make_unique<RE2>(matcher.regex(), options);
    if (!out.regex->ok()) {
      regex_error = "invalid regular expression: " + out.regex->error();
      out.regex.reset();
    }
  } else {
    return false;
  }
  return true;
}

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
