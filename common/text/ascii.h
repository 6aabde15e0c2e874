#pragma once

#include <string>
#include <string_view>

// ASCII-only character helpers for protocol text (header names, percent
// escapes, tokens): locale-free and branch-cheap, unlike <cctype>.
namespace weft::text {

constexpr char toLowerAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

// A lower-cased copy (header names for HTTP/2, which requires lower case).
inline std::string lowerCaseAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = toLowerAscii(c);
  }
  return out;
}

// The value of a hexadecimal digit, or -1.
constexpr int hexDigitValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

constexpr bool equalsIgnoreCaseAscii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (toLowerAscii(a[i]) != toLowerAscii(b[i])) {
      return false;
    }
  }
  return true;
}

}  // namespace weft::text
