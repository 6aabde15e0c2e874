#include "common/config/duration_text.h"

#include <array>
#include <cstdint>
#include <limits>

namespace weft::config {
namespace {

struct Unit {
  std::string_view suffix;
  int64_t nanos;
};

// Longest suffixes first so "ms" is not read as "m" followed by junk.
constexpr std::array<Unit, 7> kUnits{{{"ns", 1},
                                      {"us", 1'000},
                                      {"\xC2\xB5s", 1'000},  // "µs", as Go accepts it
                                      {"ms", 1'000'000},
                                      {"s", 1'000'000'000},
                                      {"m", 60'000'000'000},
                                      {"h", 3'600'000'000'000}}};

// google.protobuf.Duration's documented range: +-10,000 years.
constexpr int64_t kMaxSeconds = 315'576'000'000;

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

std::string parseDurationText(std::string_view text, google::protobuf::Duration& out) {
  if (text.empty()) {
    return "empty duration (write it with a unit, e.g. \"5s\" or \"250ms\")";
  }
  if (text.front() == '-') {
    return "negative duration \"" + std::string(text) + "\" is not allowed";
  }
  if (text.front() == '+') {
    text.remove_prefix(1);
    if (text.empty()) {
      return "invalid duration \"+\": expected a number followed by a unit";
    }
  }
  if (text == "0") {
    out.set_seconds(0);
    out.set_nanos(0);
    return {};
  }
  // Accumulate in seconds + nanos to keep full range (years) and full precision (ns).
  int64_t seconds = 0;
  int64_t nanos = 0;
  const std::string original(text);
  while (!text.empty()) {
    // Integer part and optional fraction.
    size_t i = 0;
    while (i < text.size() && isDigit(text[i])) {
      ++i;
    }
    std::string_view whole = text.substr(0, i);
    std::string_view fraction;
    if (i < text.size() && text[i] == '.') {
      size_t start = ++i;
      while (i < text.size() && isDigit(text[i])) {
        ++i;
      }
      fraction = text.substr(start, i - start);
    }
    if (whole.empty() && fraction.empty()) {
      return "invalid duration \"" + original +
             "\": expected a number followed by a unit (ns, us, ms, s, m, h)";
    }
    text.remove_prefix(i);
    const Unit* unit = nullptr;
    for (const Unit& candidate : kUnits) {
      if (text.substr(0, candidate.suffix.size()) == candidate.suffix) {
        // "m" must not swallow the "m" of "ms".
        if (candidate.suffix == "m" && text.size() > 1 && text[1] == 's') {
          continue;
        }
        unit = &candidate;
        break;
      }
    }
    if (unit == nullptr) {
      if (text.empty()) {
        return "invalid duration \"" + original +
               "\": missing unit (write e.g. \"5s\" or \"250ms\"; units: ns, us, ms, s, m, h)";
      }
      return "invalid duration \"" + original + "\": unknown unit at \"" + std::string(text) +
             "\" (units: ns, us, ms, s, m, h)";
    }
    text.remove_prefix(unit->suffix.size());

    // whole * unit: split unit into seconds and nanos to avoid overflow.
    const int64_t unit_seconds = unit->nanos / 1'000'000'000;
    const int64_t unit_nanos = unit->nanos % 1'000'000'000;
    int64_t value = 0;
    for (char c : whole) {
      // 10^17 * 10 still fits in int64; anything longer is out of range in any unit.
      if (value > 100'000'000'000'000'000LL) {
        return "duration \"" + original + "\" is out of range";
      }
      value = value * 10 + (c - '0');
    }
    if (unit_seconds > 0) {
      if (value > kMaxSeconds / unit_seconds) {
        return "duration \"" + original + "\" is out of range";
      }
      seconds += value * unit_seconds;
    } else {
      seconds += value / (1'000'000'000 / unit_nanos);
      nanos += (value % (1'000'000'000 / unit_nanos)) * unit_nanos;
    }
    // Fraction: fraction digits * unit, computed in nanoseconds with long double
    // precision is not needed: walk digits, scaling the unit down by 10 each time.
    int64_t scale_seconds = unit_seconds;
    int64_t scale_nanos = unit_nanos;
    for (char c : fraction) {
      // Divide (scale_seconds, scale_nanos) by 10.
      int64_t total_nanos_remainder = (scale_seconds % 10) * 1'000'000'000 + scale_nanos;
      scale_seconds /= 10;
      scale_nanos = total_nanos_remainder / 10;
      const int digit = c - '0';
      seconds += scale_seconds * digit;
      nanos += scale_nanos * digit;
      if (scale_seconds == 0 && scale_nanos == 0) {
        break;  // Below a nanosecond: further digits change nothing.
      }
    }
    seconds += nanos / 1'000'000'000;
    nanos %= 1'000'000'000;
    if (seconds > kMaxSeconds) {
      return "duration \"" + original + "\" is out of range";
    }
  }
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(nanos));
  return {};
}

std::string formatDurationText(const google::protobuf::Duration& duration) {
  int64_t seconds = duration.seconds();
  int64_t nanos = duration.nanos();
  if (seconds == 0 && nanos == 0) {
    return "0s";
  }
  if (seconds < 0 || nanos < 0) {
    // Only binary (xDS) input can carry these; show them plainly.
    return std::to_string(seconds) + "s" + (nanos != 0 ? std::to_string(nanos) + "ns" : "");
  }
  // Below 9e9 seconds the total in nanoseconds fits in int64.
  if (nanos != 0 && seconds < 9'000'000'000) {
    const int64_t total_nanos = seconds * 1'000'000'000 + nanos;
    {
      if (total_nanos % 1'000'000 == 0) {
        return std::to_string(total_nanos / 1'000'000) + "ms";
      }
      if (total_nanos % 1'000 == 0) {
        return std::to_string(total_nanos / 1'000) + "us";
      }
      return std::to_string(total_nanos) + "ns";
    }
  }
  std::string out;
  if (seconds >= 3600) {
    out += std::to_string(seconds / 3600) + "h";
    seconds %= 3600;
  }
  if (seconds >= 60) {
    out += std::to_string(seconds / 60) + "m";
    seconds %= 60;
  }
  if (seconds > 0) {
    out += std::to_string(seconds) + "s";
  }
  return out;
}

}  // namespace weft::config
