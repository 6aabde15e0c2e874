#pragma once

#include <string>
#include <string_view>

namespace weft::config {

// Field paths name a place in a message the way a user reads it:
// "static_resources.clusters[0].load_assignment.endpoints[1]" or
// "node.labels[\"app\"]". They are built only when loading or validating config,
// never on the request path.

inline std::string appendField(std::string_view path, std::string_view field) {
  std::string out(path);
  if (!out.empty()) {
    out += '.';
  }
  out += field;
  return out;
}

inline std::string appendIndex(std::string_view path, size_t index) {
  return std::string(path) + "[" + std::to_string(index) + "]";
}

inline std::string appendKey(std::string_view path, std::string_view key) {
  std::string out(path);
  out += "[\"";
  out += key;
  out += "\"]";
  return out;
}

// The path one level up: "a.b[0]" -> "a.b" -> "a" -> "". Keys may hold dots or
// brackets, so a trailing ["key"] is removed as a whole.
inline std::string_view parentPath(std::string_view path) {
  if (path.empty()) {
    return path;
  }
  if (path.back() == ']') {
    if (path.size() >= 2 && path[path.size() - 2] == '"') {
      const size_t open = path.rfind("[\"", path.size() - 2);
      return open == std::string_view::npos ? std::string_view{} : path.substr(0, open);
    }
    const size_t open = path.rfind('[');
    return open == std::string_view::npos ? std::string_view{} : path.substr(0, open);
  }
  const size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view{} : path.substr(0, dot);
}

}  // namespace weft::config
