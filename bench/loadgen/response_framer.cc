#include "bench/loadgen/response_framer.h"

#include "common/text/ascii.h"

#include <algorithm>
#include <cctype>

namespace weft::loadgen {

namespace {

bool containsIgnoreCase(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) {
    return false;
  }
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (text::equalsIgnoreCaseAscii(haystack.substr(i, needle.size()), needle)) {
      return true;
    }
  }
  return false;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

bool parseDecimal(std::string_view text, std::uint64_t& value) {
  if (text.empty() || text.size() > 18) {
    return false;
  }
  value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return true;
}

}  // namespace

ResponseFramer::Result ResponseFramer::complete() {
  state_ = State::kHead;
  return Result::kComplete;
}

ResponseFramer::Result ResponseFramer::parseHead(std::string_view data, std::size_t& consumed) {
  const std::size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return Result::kNeedMore;
  }
  const std::string_view head = data.substr(0, end + 2);  // every line ends with CRLF
  consumed = end + 4;
  std::size_t line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, line_end);
  // "HTTP/1.1 200 OK"
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ') {
    return Result::kError;
  }
  std::uint64_t code = 0;
  if (!parseDecimal(status_line.substr(9, 3), code)) {
    return Result::kError;
  }
  status_ = static_cast<int>(code);
  close_after_ = status_line[7] == '0';
  bool chunked = false;
  bool has_length = false;
  std::uint64_t length = 0;
  for (std::size_t begin = line_end + 2; begin < head.size(); begin = line_end + 2) {
    line_end = head.find("\r\n", begin);
    const std::string_view line = head.substr(begin, line_end - begin);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return Result::kError;
    }
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (text::equalsIgnoreCaseAscii(name, "content-length")) {
      if (!parseDecimal(value, length)) {
        return Result::kError;
      }
      has_length = true;
    } else if (text::equalsIgnoreCaseAscii(name, "transfer-encoding")) {
      chunked = containsIgnoreCase(value, "chunked");
    } else if (text::equalsIgnoreCaseAscii(name, "connection")) {
      if (containsIgnoreCase(value, "close")) {
        close_after_ = true;
      } else if (containsIgnoreCase(value, "keep-alive")) {
        close_after_ = false;
      }
    }
  }
  if (status_ >= 100 && status_ < 200) {
    return Result::kNeedMore;  // interim: the final response follows
  }
  if (status_ == 204 || status_ == 304) {
    return complete();
  }
  if (chunked) {
    state_ = State::kChunkSize;
    remaining_ = 0;
    return Result::kNeedMore;
  }
  if (!has_length) {
    return Result::kError;  // a body delimited by close: not supported on keep-alive
  }
  remaining_ = length;
  state_ = State::kFixedBody;
  return remaining_ == 0 ? complete() : Result::kNeedMore;
}

ResponseFramer::Result ResponseFramer::feed(std::string_view data, std::size_t& consumed) {
  consumed = 0;
  while (consumed < data.size() || state_ == State::kHead) {
    const std::string_view rest = data.substr(consumed);
    switch (state_) {
      case State::kHead: {
        std::size_t used = 0;
        const Result result = parseHead(rest, used);
        if (used == 0) {
          return Result::kNeedMore;  // the header block is not complete yet
        }
        consumed += used;
        if (result != Result::kNeedMore) {
          return result;
        }
        break;  // a body follows, or another head after an interim response
      }
      case State::kFixedBody: {
        const auto take =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, rest.size()));
        consumed += take;
        remaining_ -= take;
        if (remaining_ == 0) {
          return complete();
        }
        return Result::kNeedMore;
      }
      case State::kChunkSize: {
        // "1a;ext=1\r\n": hex size, optional extensions, CRLF.
        const std::size_t line_end = rest.find("\r\n");
        if (line_end == std::string_view::npos) {
          return rest.size() > 1024 ? Result::kError : Result::kNeedMore;
        }
        std::uint64_t size = 0;
        std::size_t i = 0;
        for (; i < line_end && text::hexDigitValue(rest[i]) >= 0; ++i) {
          if (i >= 15) {
            return Result::kError;
          }
          size = size * 16 + static_cast<std::uint64_t>(text::hexDigitValue(rest[i]));
        }
        if (i == 0) {
          return Result::kError;
        }
        consumed += line_end + 2;
        remaining_ = size;
        state_ = size == 0 ? State::kTrailers : State::kChunkData;
        break;
      }
      case State::kChunkData: {
        const auto take =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, rest.size()));
        consumed += take;
        remaining_ -= take;
        if (remaining_ == 0) {
          state_ = State::kChunkDataEnd;
        }
        break;
      }
      case State::kChunkDataEnd: {
        if (rest.size() < 2) {
          return Result::kNeedMore;
        }
        if (rest.substr(0, 2) != "\r\n") {
          return Result::kError;
        }
        consumed += 2;
        state_ = State::kChunkSize;
        break;
      }
      case State::kTrailers: {
        const std::size_t line_end = rest.find("\r\n");
        if (line_end == std::string_view::npos) {
          return rest.size() > 8192 ? Result::kError : Result::kNeedMore;
        }
        consumed += line_end + 2;
        if (line_end == 0) {
          return complete();
        }
        break;
      }
    }
  }
  return Result::kNeedMore;
}

}  // namespace weft::loadgen
