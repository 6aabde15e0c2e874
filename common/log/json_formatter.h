#pragma once

#include <spdlog/formatter.h>
#include <chrono>
#include <memory>
#include <string_view>

namespace weft::log {

// Appends `text` to `out` as a quoted JSON string. Quotes, backslashes and control characters
// are escaped, and bytes that are not valid UTF-8 become U+FFFD, so whatever a message holds
// (user input, binary garbage, embedded newlines) the result is one valid JSON token that
// cannot split or corrupt a JSON-lines record.
void appendJsonString(std::string_view text, spdlog::memory_buf_t& out);

// Formats each record as one JSON object on one line:
//   {"ts":"2024-05-01T12:34:56.789Z","level":"info","logger":"xds","msg":"..."}
// The timestamp is RFC 3339 in UTC with milliseconds, which log pipelines parse without a
// per-deployment format setting.
class JsonFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;

 private:
  // Formatting the date is the costly part of a record and many records share a second, so the
  // "YYYY-MM-DDTHH:MM:SS" prefix is cached. A formatter belongs to one sink, which serializes
  // calls, so no locking is needed.
  std::chrono::seconds cached_second_{-1};
  char cached_prefix_[32] = {};
  size_t cached_prefix_size_ = 0;
};

}  // namespace weft::log
