#include "proxy/router/path_normalization.h"

#include "common/text/ascii.h"

namespace weft::proxy {
namespace {

bool isUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// Whether the path needs any work under `config`: a '%', a "." or ".." segment,
// or (with merging) a "//".
bool needsWork(std::string_view path, const PathNormalizationConfig& config) {
  for (size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '%') {
      return true;
    }
    if (c == '/' && i + 1 < path.size()) {
      const char next = path[i + 1];
      if (next == '/' && config.merge_slashes) {
        return true;
      }
      if (next == '.' && config.rfc3986) {
        // "/." or "/.." followed by "/" or the end
        const size_t after = path.size() > i + 2 && path[i + 2] == '.' ? i + 3 : i + 2;
        if (after >= path.size() || path[after] == '/') {
          return true;
        }
      }
    }
  }
  return false;
}

// RFC 3986 section 5.2.4, on a path that starts with '/'.
std::string removeDotSegments(std::string_view input) {
  std::string output;
  output.reserve(input.size());
  size_t i = 0;
  while (i < input.size()) {
    // input starts with '/' here
    size_t end = input.find('/', i + 1);
    if (end == std::string_view::npos) {
      end = input.size();
    }
    const std::string_view segment = input.substr(i + 1, end - i - 1);
    const bool last = end == input.size();
    if (segment == ".") {
      if (last) {
        output.push_back('/');
      }
    } else if (segment == "..") {
      const size_t cut = output.rfind('/');
      output.erase(cut == std::string::npos ? 0 : cut);
      if (last) {
        output.push_back('/');
      }
    } else {
      output.push_back('/');
      output.append(segment);
    }
    i = end;
  }
  if (output.empty()) {
    output.push_back('/');
  }
  return output;
}

}  // namespace

PathVerdict normalizePath(std::string_view target, const PathNormalizationConfig& config,
                          std::string& out) {
  const size_t mark = target.find('?');
  const std::string_view path = target.substr(0, mark);
  const std::string_view query =
      mark == std::string_view::npos ? std::string_view() : target.substr(mark);
  if (path.empty() || path.front() != '/') {
    // "*" (OPTIONS) and absolute-form targets are not routed by path here.
    return path == "*" ? PathVerdict::kUnchanged : PathVerdict::kInvalid;
  }
  if (!needsWork(path, config)) {
    return PathVerdict::kUnchanged;
  }

  // 1 and 2: percent-encodings (validity, escaped slashes, unreserved decoding).
  std::string decoded;
  decoded.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c != '%') {
      decoded.push_back(c);
      continue;
    }
    const bool complete = i + 2 < path.size();
    const int high = complete ? text::hexDigitValue(path[i + 1]) : -1;
    const int low = complete ? text::hexDigitValue(path[i + 2]) : -1;
    if (high < 0 || low < 0) {
      if (config.rfc3986) {
        return PathVerdict::kInvalid;
      }
      decoded.push_back(c);
      continue;
    }
    const auto byte = static_cast<unsigned char>(high * 16 + low);
    if (byte == '/' || byte == '\\') {
      if (config.escaped_slashes == PathNormalizationConfig::EscapedSlashes::kReject) {
        return PathVerdict::kEscapedSlash;
      }
      if (config.escaped_slashes == PathNormalizationConfig::EscapedSlashes::kUnescape) {
        decoded.push_back(static_cast<char>(byte));
        i += 2;
        continue;
      }
    }
    if (config.rfc3986 && isUnreserved(byte)) {
      decoded.push_back(static_cast<char>(byte));
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      decoded.push_back('%');
      decoded.push_back(config.rfc3986 ? kHex[high] : path[i + 1]);
      decoded.push_back(config.rfc3986 ? kHex[low] : path[i + 2]);
    }
    i += 2;
  }

  // 3: dot segments.
  std::string normal = config.rfc3986 ? removeDotSegments(decoded) : std::move(decoded);

  // 4: merged slashes.
  if (config.merge_slashes) {
    std::string merged;
    merged.reserve(normal.size());
    for (char c : normal) {
      if (c == '/' && !merged.empty() && merged.back() == '/') {
        continue;
      }
      merged.push_back(c);
    }
    normal = std::move(merged);
  }
  if (normal == path) {
    return PathVerdict::kUnchanged;
  }
  out.assign(normal).append(query);
  return PathVerdict::kRewritten;
}

}  // namespace weft::proxy
