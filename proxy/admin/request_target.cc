#include "proxy/admin/request_target.h"

#include "common/text/ascii.h"

namespace weft::proxy::admin {

namespace {

// Decodes one query component (application/x-www-form-urlencoded: '+' is a space).
std::optional<std::string> decodeComponent(std::string_view text) {
  std::string decoded;
  decoded.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      decoded.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) {
        return std::nullopt;
      }
      const int high = text::hexDigitValue(text[i + 1]);
      const int low = text::hexDigitValue(text[i + 2]);
      if (high < 0 || low < 0) {
        return std::nullopt;
      }
      decoded.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      decoded.push_back(c);
    }
  }
  return decoded;
}

}  // namespace

std::optional<std::string_view> RequestTarget::param(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (key == name) {
      return std::string_view(value);
    }
  }
  return std::nullopt;
}

std::optional<RequestTarget> parseRequestTarget(std::string_view target, std::string& error) {
  if (target.empty() || target.front() != '/') {
    error = "the request target must be a path starting with '/'";
    return std::nullopt;
  }
  for (const char c : target) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f || c == '#') {
      error = "the request target contains a space, control character or '#'";
      return std::nullopt;
    }
  }
  RequestTarget result;
  const size_t question = target.find('?');
  result.path = std::string(target.substr(0, question));
  if (question == std::string_view::npos) {
    return result;
  }
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) {
      continue;
    }
    const size_t equals = pair.find('=');
    auto key = decodeComponent(pair.substr(0, equals));
    auto value = decodeComponent(equals == std::string_view::npos ? std::string_view()
                                                                  : pair.substr(equals + 1));
    if (!key || !value) {
      error = "the query string has an invalid percent-escape";
      return std::nullopt;
    }
    result.params.emplace_back(std::move(*key), std::move(*value));
  }
  return result;
}

}  // namespace weft::proxy::admin
