#include "proxy/router/request_match.h"

#include <algorithm>
#include <charconv>

#include "common/text/ascii.h"

namespace weft::proxy {
namespace {

// `pattern` is already lower-case when `ignore_case`.
bool sameText(std::string_view value, std::string_view pattern, bool ignore_case) {
  if (value.size() != pattern.size()) {
    return false;
  }
  if (!ignore_case) {
    return value == pattern;
  }
  for (size_t i = 0; i < value.size(); ++i) {
    if (text::toLowerAscii(value[i]) != pattern[i]) {
      return false;
    }
  }
  return true;
}

bool containsText(std::string_view value, std::string_view pattern, bool ignore_case) {
  if (!ignore_case) {
    return value.find(pattern) != std::string_view::npos;
  }
  auto it = std::search(value.begin(), value.end(), pattern.begin(), pattern.end(),
                        [](char a, char b) { return text::toLowerAscii(a) == b; });
  return it != value.end() || pattern.empty();
}

}  // namespace

bool ValueMatcher::matches(std::string_view value) const {
  switch (kind) {
    case Kind::kExact:
      return sameText(value, text, ignore_case);
    case Kind::kPrefix:
      return value.size() >= text.size() &&
             sameText(value.substr(0, text.size()), text, ignore_case);
    case Kind::kSuffix:
      return value.size() >= text.size() &&
             sameText(value.substr(value.size() - text.size()), text, ignore_case);
    case Kind::kContains:
      return containsText(value, text, ignore_case);
    case Kind::kRegex:
      return RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *regex);
    case Kind::kPresent:
      return true;
    case Kind::kRange: {
      int64_t number = 0;
      const char* end = value.data() + value.size();
      auto [rest, error] = std::from_chars(value.data(), end, number);
      if (error != std::errc() || rest != end || value.empty()) {
        return false;  // not a whole base-10 integer: no match, as documented
      }
      return number >= range_start && number < range_end;
    }
  }
  return false;
}

bool HeaderMatchConfig::matches(const RequestView& request, std::string& scratch) const {
  std::string_view found;
  const bool has = request.findHeader(name, scratch, found);
  bool result;
  if (value.kind == ValueMatcher::Kind::kPresent) {
    result = has == present;
  } else {
    result = has && value.matches(found);
  }
  return result != invert;
}

std::string_view percentDecode(std::string_view text, std::string& out) {
  if (text.find('%') == std::string_view::npos) {
    return text;
  }
  out.clear();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int high = text::hexDigitValue(text[i + 1]);
      const int low = text::hexDigitValue(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

bool QueryMatchConfig::matches(std::string_view query, std::string& name_scratch,
                               std::string& value_scratch) const {
  bool seen = false;
  bool fits = false;
  while (!query.empty() && !fits) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t equals = pair.find('=');
    const std::string_view raw_name = pair.substr(0, equals);
    if (percentDecode(raw_name, name_scratch) != name) {
      continue;
    }
    seen = true;
    if (value.kind == ValueMatcher::Kind::kPresent) {
      break;
    }
    const std::string_view raw_value =
        equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
    fits = value.matches(percentDecode(raw_value, value_scratch));
  }
  const bool result = value.kind == ValueMatcher::Kind::kPresent ? seen == present : fits;
  return result != invert;
}

bool RequestConditions::matches(const RequestView& request) const {
  if (!methods.empty() &&
      std::find(methods.begin(), methods.end(), request.method) == methods.end()) {
    return false;
  }
  // Scratch space for joined or decoded values; it only allocates when a value
  // needs joining or decoding, which plain requests do not.
  std::string scratch;
  for (const HeaderMatchConfig& header : headers) {
    if (!header.matches(request, scratch)) {
      return false;
    }
  }
  if (!query_parameters.empty()) {
    std::string value_scratch;
    const std::string_view query = request.query();
    for (const QueryMatchConfig& parameter : query_parameters) {
      if (!parameter.matches(query, scratch, value_scratch)) {
        return false;
      }
    }
  }
  return true;
}

bool RequestView::findHeader(std::string_view lower_name, std::string& scratch,
                             std::string_view& value) const {
  if (!lower_name.empty() && lower_name.front() == ':') {
    if (lower_name == ":method") {
      value = method;
    } else if (lower_name == ":authority") {
      value = authority;
    } else if (lower_name == ":path") {
      value = target;
    } else if (lower_name == ":scheme") {
      value = scheme;
    } else if (lower_name == ":status" && !status.empty()) {
      value = status;
    } else {
      return false;
    }
    return true;
  }
  if (lower_name == "host") {
    value = authority;  // HTTP/2 carries it as :authority
    return !authority.empty();
  }
  return headers != nullptr && headers->find(lower_name, scratch, value);
}

}  // namespace weft::proxy
