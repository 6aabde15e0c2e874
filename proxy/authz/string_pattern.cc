#include "proxy/authz/string_pattern.h"

#include "common/text/ascii.h"

namespace weft::proxy::authz {

std::optional<StringPattern> StringPattern::parse(std::string_view text,
                                                  const StringPatternOptions& options,
                                                  std::string& error) {
  if (text.empty() && !options.allow_empty) {
    error = "empty pattern (use \"*\" for any value)";
    return std::nullopt;
  }
  if (text == "*") {
    return StringPattern(Kind::kAny, {}, false, false);
  }
  Kind kind = Kind::kExact;
  std::string_view fixed = text;
  if (!text.empty() && text.front() == '*') {
    kind = Kind::kSuffix;
    fixed.remove_prefix(1);
  } else if (!text.empty() && text.back() == '*') {
    kind = Kind::kPrefix;
    fixed.remove_suffix(1);
  }
  if (fixed.find('*') != std::string_view::npos) {
    error = "invalid pattern \"" + std::string(text) +
            "\": '*' is allowed only alone, as the first or as the last character";
    return std::nullopt;
  }
  std::string stored = options.ignore_case ? text::lowerCaseAscii(fixed) : std::string(fixed);
  const bool trailing_slash = options.exact_allows_trailing_slash && kind == Kind::kExact &&
                              !stored.empty() && stored.back() != '/';
  return StringPattern(kind, std::move(stored), options.ignore_case, trailing_slash);
}

bool StringPattern::same(std::string_view value, std::string_view fixed) const {
  if (value.size() != fixed.size()) {
    return false;
  }
  if (!ignore_case_) {
    return value == fixed;
  }
  for (size_t i = 0; i < value.size(); ++i) {
    if (text::toLowerAscii(value[i]) != fixed[i]) {
      return false;
    }
  }
  return true;
}

bool StringPattern::matches(std::string_view value) const {
  switch (kind_) {
    case Kind::kAny:
      return !value.empty();
    case Kind::kExact:
      if (same(value, text_)) {
        return true;
      }
      return exact_allows_trailing_slash_ && value.size() == text_.size() + 1 &&
             value.back() == '/' && same(value.substr(0, text_.size()), text_);
    case Kind::kPrefix:
      return value.size() >= text_.size() && same(value.substr(0, text_.size()), text_);
    case Kind::kSuffix:
      return value.size() >= text_.size() && same(value.substr(value.size() - text_.size()), text_);
  }
  return false;
}

}  // namespace weft::proxy::authz
