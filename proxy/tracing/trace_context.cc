#include "proxy/tracing/trace_context.h"

#include <array>
#include <cstring>
#include <string>

namespace weft::proxy {
namespace {

// `digits` lower-case hex digits (upper case is invalid in both formats' ids), or nothing.
std::optional<uint64_t> parseHex(std::string_view text) {
  if (text.empty() || text.size() > 16) {
    return std::nullopt;
  }
  uint64_t value = 0;
  for (const char c : text) {
    value <<= 4;
    if (c >= '0' && c <= '9') {
      value |= static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      value |= static_cast<uint64_t>(c - 'a' + 10);
    } else {
      return std::nullopt;
    }
  }
  return value;
}

// A 16- or 32-digit trace id.
bool parseTraceId(std::string_view text, IncomingTrace& out) {
  if (text.size() == 32) {
    const auto high = parseHex(text.substr(0, 16));
    const auto low = parseHex(text.substr(16));
    if (!high || !low || (*high == 0 && *low == 0)) {
      return false;
    }
    out.trace_high = *high;
    out.trace_low = *low;
    return true;
  }
  if (text.size() == 16) {
    const auto low = parseHex(text);
    if (!low || *low == 0) {
      return false;
    }
    out.trace_low = *low;
    out.short_trace_id = true;
    return true;
  }
  return false;
}

std::optional<uint64_t> parseSpanId(std::string_view text) {
  if (text.size() != 16) {
    return std::nullopt;
  }
  const auto value = parseHex(text);
  return value && *value != 0 ? value : std::nullopt;
}

// traceparent: "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>". A later version may add
// fields after the flags, separated by '-'; version ff is invalid.
std::optional<IncomingTrace> readW3c(std::string_view value) {
  if (value.size() < 55 || value[2] != '-' || value[35] != '-' || value[52] != '-') {
    return std::nullopt;
  }
  const auto version = parseHex(value.substr(0, 2));
  if (!version || *version == 0xff || (*version == 0 && value.size() != 55) ||
      (*version != 0 && value.size() > 55 && value[55] != '-')) {
    return std::nullopt;
  }
  IncomingTrace trace;
  const auto parent = parseSpanId(value.substr(36, 16));
  const auto flags = parseHex(value.substr(53, 2));
  if (!parseTraceId(value.substr(3, 32), trace) || trace.short_trace_id || !parent || !flags) {
    return std::nullopt;
  }
  trace.parent_span = *parent;
  trace.sampled = (*flags & 1) != 0;
  // A 64-bit trace id carried in W3C form (zero-padded) stays 64-bit for B3 and Zipkin.
  trace.short_trace_id = trace.trace_high == 0;
  trace.from_w3c = true;
  return trace;
}

std::optional<bool> b3Sampling(std::string_view text) {
  if (text == "1" || text == "d" || text == "true") {
    return true;
  }
  if (text == "0" || text == "false") {
    return false;
  }
  return std::nullopt;
}

// b3: "<trace id>-<span id>[-<sampling>[-<parent span id>]]", or a bare sampling decision.
std::optional<IncomingTrace> readB3Single(std::string_view value) {
  IncomingTrace trace;
  if (value.size() == 1) {
    trace.sampled = b3Sampling(value);
    return trace.sampled ? std::optional<IncomingTrace>(trace) : std::nullopt;
  }
  const size_t first = value.find('-');
  if (first == std::string_view::npos || !parseTraceId(value.substr(0, first), trace)) {
    return std::nullopt;
  }
  std::string_view rest = value.substr(first + 1);
  const size_t second = rest.find('-');
  const auto span = parseSpanId(rest.substr(0, second));
  if (!span) {
    return std::nullopt;
  }
  trace.parent_span = *span;
  if (second != std::string_view::npos) {
    rest = rest.substr(second + 1);
    const std::string_view sampling = rest.substr(0, rest.find('-'));
    trace.sampled = b3Sampling(sampling);
    if (!trace.sampled) {
      return std::nullopt;
    }
  }
  return trace;
}

std::optional<IncomingTrace> readB3Multi(const HeaderLookup& headers, std::string& scratch) {
  std::string_view value;
  IncomingTrace trace;
  bool has_ids = false;
  if (headers.find("x-b3-traceid", scratch, value)) {
    if (!parseTraceId(value, trace)) {
      return std::nullopt;
    }
    if (!headers.find("x-b3-spanid", scratch, value)) {
      return std::nullopt;
    }
    const auto span = parseSpanId(value);
    if (!span) {
      return std::nullopt;
    }
    trace.parent_span = *span;
    has_ids = true;
  }
  if (headers.find("x-b3-flags", scratch, value) && value == "1") {
    trace.sampled = true;  // debug
  } else if (headers.find("x-b3-sampled", scratch, value)) {
    trace.sampled = b3Sampling(value);
  }
  if (!has_ids && !trace.sampled) {
    return std::nullopt;
  }
  return trace;
}

}  // namespace

void writeHex(uint64_t value, char* out, size_t digits) {
  // Two digits per step from a table of the 256 byte values: ids are written on every traced
  // request, four at a time.
  static constexpr auto kPairs = [] {
    std::array<char, 512> pairs{};
    constexpr char kHex[] = "0123456789abcdef";
    for (size_t byte = 0; byte < 256; ++byte) {
      pairs[2 * byte] = kHex[byte >> 4];
      pairs[2 * byte + 1] = kHex[byte & 0xf];
    }
    return pairs;
  }();
  size_t left = digits;
  while (left >= 2) {
    left -= 2;
    std::memcpy(out + left, &kPairs[2 * (value & 0xff)], 2);
    value >>= 8;
  }
  if (left == 1) {
    out[0] = kPairs[2 * (value & 0xf) + 1];
  }
}

uint16_t traceFieldBit(std::string_view name) {
  // By length first: most fields of a request are none of these and leave at the switch.
  auto is = [name](std::string_view lower) {
    for (size_t i = 0; i < lower.size(); ++i) {
      const char c = name[i];
      if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c) != lower[i]) {
        return false;
      }
    }
    return true;
  };
  switch (name.size()) {
    case 2:
      return is("b3") ? kFieldB3 : 0;
    case 10:
      return is("tracestate") ? kFieldTracestate : is("x-b3-flags") ? kFieldB3Flags : 0;
    case 11:
      return is("traceparent") ? kFieldTraceparent : is("x-b3-spanid") ? kFieldB3SpanId : 0;
    case 12:
      return is("x-b3-traceid") ? kFieldB3TraceId : is("x-b3-sampled") ? kFieldB3Sampled : 0;
    case 17:
      return is("x-b3-parentspanid") ? kFieldB3ParentSpanId : 0;
    default:
      return 0;
  }
}

std::optional<IncomingTrace> readTraceContext(const HeaderLookup& headers, uint8_t formats,
                                              std::string& scratch) {
  std::string_view value;
  if ((formats & kTraceW3c) != 0 && headers.find("traceparent", scratch, value)) {
    if (auto trace = readW3c(value)) {
      if (headers.find("tracestate", scratch, value)) {
        trace->tracestate = value;
      }
      return trace;
    }
  }
  if ((formats & kTraceB3) != 0) {
    std::optional<IncomingTrace> single;
    if (headers.find("b3", scratch, value)) {
      single = readB3Single(value);
      if (single && (single->trace_high | single->trace_low) != 0) {
        return single;
      }
    }
    // A bare decision ("b3: 1") does not hide ids sent in the x-b3-* form beside it.
    std::optional<IncomingTrace> multi = readB3Multi(headers, scratch);
    if (multi && single && !multi->sampled) {
      multi->sampled = single->sampled;
    }
    return multi ? multi : single;
  }
  return std::nullopt;
}

TraceHeaders::TraceHeaders(const RequestTrace& trace) {
  writeHex(trace.trace_high, trace_id_, 16);
  writeHex(trace.trace_low, trace_id_ + 16, 16);
  writeHex(trace.span_id, span_id_, 16);
  const std::string_view trace_id(trace_id_, 32);
  const std::string_view span_id(span_id_, 16);
  if ((trace.write_formats & kTraceW3c) != 0) {
    char* out = traceparent_text_;
    std::memcpy(out, "00-", 3);
    std::memcpy(out + 3, trace_id_, 32);
    out[35] = '-';
    std::memcpy(out + 36, span_id_, 16);
    out[52] = '-';
    out[53] = '0';
    out[54] = trace.sampled ? '1' : '0';
    traceparent_ = std::string_view(out, 55);
    add("traceparent", traceparent_);
  }
  if ((trace.write_formats & kTraceB3) != 0) {
    if (trace.parent_span != 0) {
      writeHex(trace.parent_span, parent_id_, 16);
    }
    // A 64-bit B3 trace id stays 64-bit for the B3 headers.
    const std::string_view b3_trace = trace.short_trace_id ? trace_id.substr(16) : trace_id;
    add("x-b3-traceid", b3_trace);
    add("x-b3-spanid", span_id);
    if (trace.parent_span != 0) {
      add("x-b3-parentspanid", std::string_view(parent_id_, 16));
    }
    add("x-b3-sampled", trace.sampled ? "1" : "0");
    if (trace.b3_single) {
      char* out = b3_single_;
      std::memcpy(out, b3_trace.data(), b3_trace.size());
      out += b3_trace.size();
      *out++ = '-';
      std::memcpy(out, span_id_, 16);
      out += 16;
      *out++ = '-';
      *out++ = trace.sampled ? '1' : '0';
      if (trace.parent_span != 0) {
        *out++ = '-';
        std::memcpy(out, parent_id_, 16);
        out += 16;
      }
      add("b3", std::string_view(b3_single_, static_cast<size_t>(out - b3_single_)));
    }
  }
}

}  // namespace weft::proxy
