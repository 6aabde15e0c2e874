#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace weft::proxy::authz {

// How a pattern compares; fixed when the pattern is compiled.
struct StringPatternOptions {
  // ASCII case-insensitive (hosts, SNI).
  bool ignore_case = false;
  // An exact pattern not ending in '/' also matches the value with one '/' appended: "/admin"
  // matches "/admin/", which most servers treat as the same resource (paths).
  bool exact_allows_trailing_slash = false;
  // "" is a valid exact pattern (request header values, where a header may be present and
  // empty). Elsewhere an empty pattern could never match and is refused.
  bool allow_empty = false;
};

// The policy API's string pattern: "*" (any non-empty value), "prefix*", "*suffix", or an exact
// value. Compiled once per config snapshot; matching never allocates.
class StringPattern {
 public:
  enum class Kind : uint8_t { kAny, kExact, kPrefix, kSuffix };

  // The pattern `text` means, or nullopt with the reason in `error`.
  static std::optional<StringPattern> parse(std::string_view text,
                                            const StringPatternOptions& options,
                                            std::string& error);

  bool matches(std::string_view value) const;

  Kind kind() const { return kind_; }
  // The fixed part (lower-case when ignoring case); empty for kAny.
  const std::string& text() const { return text_; }

 private:
  StringPattern(Kind kind, std::string text, bool ignore_case, bool trailing_slash)
      : kind_(kind),
        text_(std::move(text)),
        ignore_case_(ignore_case),
        exact_allows_trailing_slash_(trailing_slash) {}

  bool same(std::string_view value, std::string_view fixed) const;

  Kind kind_;
  std::string text_;
  bool ignore_case_;
  bool exact_allows_trailing_slash_;
};

}  // namespace weft::proxy::authz
