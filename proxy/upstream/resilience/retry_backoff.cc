#include "proxy/upstream/resilience/retry_backoff.h"

#include <algorithm>
#include <array>
#include <charconv>

namespace weft::proxy {
namespace {

// Days from 1970-01-01 to the given civil date (proleptic Gregorian), after
// Howard Hinnant's days_from_civil.
int64_t daysFromCivil(int64_t year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<int64_t>(day_of_era) - 719468;
}

bool readNumber(std::string_view text, unsigned& out) {
  if (text.empty()) {
    return false;
  }
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

// "Sun, 06 Nov 1994 08:49:37 GMT" (IMF-fixdate): seconds since the epoch.
std::optional<int64_t> parseImfFixdate(std::string_view text) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (text.size() != 29 || text[3] != ',' || text[4] != ' ' || text[7] != ' ' || text[11] != ' ' ||
      text[16] != ' ' || text[19] != ':' || text[22] != ':' || text.substr(25) != " GMT") {
    return std::nullopt;
  }
  unsigned day = 0;
  unsigned year = 0;
  unsigned hour = 0;
  unsigned minute = 0;
  unsigned second = 0;
  if (!readNumber(text.substr(5, 2), day) || !readNumber(text.substr(12, 4), year) ||
      !readNumber(text.substr(17, 2), hour) || !readNumber(text.substr(20, 2), minute) ||
      !readNumber(text.substr(23, 2), second)) {
    return std::nullopt;
  }
  const auto month = std::find(kMonths.begin(), kMonths.end(), text.substr(8, 3));
  if (month == kMonths.end() || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  const auto month_number = static_cast<unsigned>(month - kMonths.begin()) + 1;
  return daysFromCivil(year, month_number, day) * 86400 + hour * 3600 + minute * 60 + second;
}

// "120" or "0.5": milliseconds, rounded up.
std::optional<int64_t> parseSeconds(std::string_view text) {
  const size_t dot = text.find('.');
  unsigned whole = 0;
  if (!readNumber(text.substr(0, dot), whole)) {
    return std::nullopt;
  }
  int64_t millis = static_cast<int64_t>(whole) * 1000;
  if (dot != std::string_view::npos) {
    const std::string_view fraction = text.substr(dot + 1);
    unsigned digits = 0;
    if (fraction.empty() || fraction.size() > 9 || !readNumber(fraction, digits)) {
      return std::nullopt;
    }
    int64_t nanos = digits;
    for (size_t i = fraction.size(); i < 9; ++i) {
      nanos *= 10;
    }
    millis += (nanos + 999'999) / 1'000'000;
  }
  return millis;
}

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

}  // namespace

std::chrono::milliseconds retryBackoff(uint32_t retry, std::chrono::milliseconds base,
                                       std::chrono::milliseconds max, uint64_t random) {
  const uint32_t doublings = std::min<uint32_t>(retry > 0 ? retry - 1 : 0, 30);
  const int64_t ceiling = std::min<int64_t>(max.count(), base.count() * (int64_t{1} << doublings));
  if (ceiling <= 0) {
    return std::chrono::milliseconds(0);
  }
  return std::chrono::milliseconds(
      static_cast<int64_t>(random % static_cast<uint64_t>(ceiling + 1)));
}

std::optional<std::chrono::milliseconds> resetHeaderWait(std::string_view value,
                                                         bool unix_timestamp,
                                                         int64_t now_unix_seconds) {
  value = trimmed(value);
  if (unix_timestamp) {
    const auto at = parseSeconds(value);
    if (!at) {
      return std::nullopt;
    }
    return std::chrono::milliseconds(std::max<int64_t>(0, *at - now_unix_seconds * 1000));
  }
  if (const auto delay = parseSeconds(value)) {
    return std::chrono::milliseconds(*delay);
  }
  if (const auto at = parseImfFixdate(value)) {
    return std::chrono::milliseconds(std::max<int64_t>(0, (*at - now_unix_seconds) * 1000));
  }
  return std::nullopt;
}

}  // namespace weft::proxy
