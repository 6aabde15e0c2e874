#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace weft::text {

// Base64 (RFC 4648 section 4) as Kubernetes and protobuf's JSON mapping write it: padded, no
// line breaks.
inline std::string encodeBase64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t at = 0;
  for (; at + 3 <= bytes.size(); at += 3) {
    const uint32_t group = (static_cast<uint8_t>(bytes[at]) << 16) |
                           (static_cast<uint8_t>(bytes[at + 1]) << 8) |
                           static_cast<uint8_t>(bytes[at + 2]);
    out += kAlphabet[(group >> 18) & 63];
    out += kAlphabet[(group >> 12) & 63];
    out += kAlphabet[(group >> 6) & 63];
    out += kAlphabet[group & 63];
  }
  if (const size_t left = bytes.size() - at; left > 0) {
    uint32_t group = static_cast<uint8_t>(bytes[at]) << 16;
    if (left == 2) {
      group |= static_cast<uint8_t>(bytes[at + 1]) << 8;
    }
    out += kAlphabet[(group >> 18) & 63];
    out += kAlphabet[(group >> 12) & 63];
    out += left == 2 ? kAlphabet[(group >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Decodes base64 in either alphabet (standard or URL-safe, RFC 4648 sections 4 and 5), with or
// without padding, skipping line breaks and spaces as PEM-minded writers insert them. Nullopt
// for any other character, data after padding, or more than two padding characters.
inline std::optional<std::string> decodeBase64(std::string_view text) {
  auto value_of = [](char c) -> int {
    if (c >= 'A' && c <= 'Z')
      return c - 'A';
    if (c >= 'a' && c <= 'z')
      return c - 'a' + 26;
    if (c >= '0' && c <= '9')
      return c - '0' + 52;
    if (c == '+' || c == '-')
      return 62;
    if (c == '/' || c == '_')
      return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 4 * 3);
  uint32_t buffer = 0;
  int bits = 0;
  size_t padding = 0;
  for (const char c : text) {
    if (c == '=') {
      ++padding;
      continue;
    }
    if (c == '\n' || c == '\r' || c == ' ') {
      continue;
    }
    const int value = value_of(c);
    if (value < 0 || padding > 0) {
      return std::nullopt;
    }
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  if (padding > 2) {
    return std::nullopt;
  }
  return out;
}

}  // namespace weft::text
