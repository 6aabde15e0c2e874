#include "common/log/json_formatter.h"

#include <fmt/format.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/details/os.h>
#include <ctime>

namespace weft::log {

namespace {

void append(spdlog::memory_buf_t& out, std::string_view text) {
  out.append(text.data(), text.data() + text.size());
}

// Length of the well-formed UTF-8 sequence starting at text[pos], or 0 if the bytes there are
// not one (overlong forms, surrogates and code points above U+10FFFF are rejected as well, as
// RFC 3629 requires).
size_t utf8SequenceLength(std::string_view text, size_t pos) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  size_t length = 0;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) {
      second_min = 0xA0;  // below is an overlong encoding
    } else if (lead == 0xED) {
      second_max = 0x9F;  // above are UTF-16 surrogates
    }
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) {
      second_min = 0x90;  // below is an overlong encoding
    } else if (lead == 0xF4) {
      second_max = 0x8F;  // above is past U+10FFFF
    }
  } else {
    return 0;
  }
  if (text.size() - pos < length) {
    return 0;
  }
  if (byte(pos + 1) < second_min || byte(pos + 1) > second_max) {
    return 0;
  }
  for (size_t i = 2; i < length; ++i) {
    if (byte(pos + i) < 0x80 || byte(pos + i) > 0xBF) {
      return 0;
    }
  }
  return length;
}

}  // namespace

void appendJsonString(std::string_view text, spdlog::memory_buf_t& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  static constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";
  out.push_back('"');
  size_t pos = 0;
  while (pos < text.size()) {
    // A run of characters that need nothing goes in one append (most text is plain ASCII:
    // access log lines and span tags are written on the worker that served the request).
    size_t plain = pos;
    while (plain < text.size()) {
      const auto p = static_cast<unsigned char>(text[plain]);
      if (p < 0x20 || p >= 0x7F || p == '"' || p == '\\') {
        break;
      }
      ++plain;
    }
    if (plain != pos) {
      out.append(text.data() + pos, text.data() + plain);
      pos = plain;
      continue;
    }
    const auto c = static_cast<unsigned char>(text[pos]);
    if (c >= 0x80) {
      const size_t length = utf8SequenceLength(text, pos);
      if (length == 0) {
        append(out, kReplacementCharacter);
        ++pos;
      } else {
        append(out, text.substr(pos, length));
        pos += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        append(out, "\\\"");
        break;
      case '\\':
        append(out, "\\\\");
        break;
      case '\b':
        append(out, "\\b");
        break;
      case '\f':
        append(out, "\\f");
        break;
      case '\n':
        append(out, "\\n");
        break;
      case '\r':
        append(out, "\\r");
        break;
      case '\t':
        append(out, "\\t");
        break;
      default:
        // DEL is legal in JSON but is escaped with the other controls so a record read on a
        // terminal shows no invisible characters.
        if (c < 0x20 || c == 0x7F) {
          const char escaped[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
          out.append(escaped, escaped + sizeof(escaped));
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++pos;
  }
  out.push_back('"');
}

void JsonFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  using std::chrono::duration_cast;
  const auto since_epoch = msg.time.time_since_epoch();
  const auto second = duration_cast<std::chrono::seconds>(since_epoch);
  const auto millis = duration_cast<std::chrono::milliseconds>(since_epoch - second).count();
  if (second != cached_second_) {
    const std::time_t time = second.count();
    std::tm utc{};
    ::gmtime_r(&time, &utc);
    cached_prefix_size_ =
        std::strftime(cached_prefix_, sizeof(cached_prefix_), "%Y-%m-%dT%H:%M:%S", &utc);
    cached_second_ = second;
  }

  append(dest, R"({"ts":")");
  dest.append(cached_prefix_, cached_prefix_ + cached_prefix_size_);
  fmt::format_to(fmt::appender(dest), ".{:03}Z\",\"level\":\"", millis);
  const auto level = spdlog::level::to_string_view(msg.level);
  dest.append(level.data(), level.data() + level.size());
  append(dest, R"(","logger":)");
  appendJsonString({msg.logger_name.data(), msg.logger_name.size()}, dest);
  append(dest, R"(,"msg":)");
  appendJsonString({msg.payload.data(), msg.payload.size()}, dest);
  dest.push_back('}');
  append(dest, spdlog::details::os::default_eol);
}

std::unique_ptr<spdlog::formatter> JsonFormatter::clone() const {
  return std::make_unique<JsonFormatter>();
}

}  // namespace weft::log
