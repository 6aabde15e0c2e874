#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "proxy/router/request_view.h"

namespace weft::proxy {

// Trace context formats a chain reads and writes (bits).
inline constexpr uint8_t kTraceW3c = 1;
inline constexpr uint8_t kTraceB3 = 2;

// The trace context fields a request can carry (bits), found in one pass over its field names
// so that a request without any (the common case) costs no lookups and no erasures.
inline constexpr uint16_t kFieldTraceparent = 1 << 0;
inline constexpr uint16_t kFieldTracestate = 1 << 1;
inline constexpr uint16_t kFieldB3 = 1 << 2;  // the single-header form
inline constexpr uint16_t kFieldB3TraceId = 1 << 3;
inline constexpr uint16_t kFieldB3SpanId = 1 << 4;
inline constexpr uint16_t kFieldB3ParentSpanId = 1 << 5;
inline constexpr uint16_t kFieldB3Sampled = 1 << 6;
inline constexpr uint16_t kFieldB3Flags = 1 << 7;
inline constexpr uint16_t kW3cFields = kFieldTraceparent | kFieldTracestate;
inline constexpr uint16_t kB3Fields = kFieldB3 | kFieldB3TraceId | kFieldB3SpanId |
                                      kFieldB3ParentSpanId | kFieldB3Sampled | kFieldB3Flags;

// The bit of a field name (any case), 0 for a field that is not trace context.
uint16_t traceFieldBit(std::string_view name);

// The trace context fields among `fields` (anything with a name_string() or name).
template <class Fields>
uint16_t presentTraceFields(const Fields& fields) {
  uint16_t present = 0;
  for (const auto& field : fields) {
    if constexpr (requires { field.name_string(); }) {
      present |= traceFieldBit(field.name_string());
    } else {
      present |= traceFieldBit(field.name);
    }
  }
  return present;
}

// The trace context a request arrived with: its trace, the caller's span and the caller's
// sampling decision (absent: none made, the proxy decides).
struct IncomingTrace {
  uint64_t trace_high = 0;  // 0 for a 64-bit B3 trace id
  uint64_t trace_low = 0;
  uint64_t parent_span = 0;  // 0: the request carried a decision only (b3: 1)
  std::optional<bool> sampled;
  bool short_trace_id = false;  // a 64-bit B3 trace id, written back as 16 hex digits
  bool from_w3c = false;        // read from traceparent (its tracestate belongs with it)
  std::string_view tracestate;  // W3C, forwarded unchanged
};

// Reads the first of `formats` present in the request: W3C traceparent (RFC-style Trace
// Context level 1: version 00, or a later version read as 00), then B3 (the single "b3" header,
// then the x-b3-* headers). A malformed context counts as absent, so the request starts a new
// trace rather than being refused.
std::optional<IncomingTrace> readTraceContext(const HeaderLookup& headers, uint8_t formats,
                                              std::string& scratch);

// The proxy's span for one request: its trace (inherited or new), its own id and its parent.
struct RequestTrace {
  uint64_t trace_high = 0;
  uint64_t trace_low = 0;
  uint64_t span_id = 0;
  uint64_t parent_span = 0;  // 0: the root
  bool sampled = false;
  bool short_trace_id = false;
  // Continues a W3C traceparent: the request's tracestate goes on with it. Otherwise (a new
  // trace, or one from B3) a tracestate is dropped, as W3C Trace Context requires.
  bool keeps_tracestate = false;
  // The formats written to the forwarded request, and whether B3 includes the single "b3"
  // header (the request carried one).
  uint8_t write_formats = kTraceW3c;
  bool b3_single = false;
};

// Lower-case hex, fixed width.
void writeHex(uint64_t value, char* out, size_t digits);

// The fields written to the forwarded request for `trace` in its write_formats, formatted
// without allocating: traceparent (W3C); x-b3-traceid, x-b3-spanid, x-b3-parentspanid (when
// there is a parent) and x-b3-sampled (B3), and "b3" when trace.b3_single.
class TraceHeaders {
 public:
  struct Field {
    std::string_view name;
    std::string_view value;
  };

  explicit TraceHeaders(const RequestTrace& trace);
  // Its fields are views into its own buffers: never copied or moved.
  TraceHeaders(const TraceHeaders&) = delete;
  TraceHeaders& operator=(const TraceHeaders&) = delete;

  const Field* begin() const { return fields_.data(); }
  const Field* end() const { return fields_.data() + count_; }
  // The traceparent value written (empty when W3C is not written).
  std::string_view traceparent() const { return traceparent_; }

 private:
  void add(std::string_view name, std::string_view value) { fields_[count_++] = {name, value}; }

  // Left uninitialized: written before they are read, on every traced request.
  std::array<Field, 6> fields_;
  size_t count_ = 0;
  std::string_view traceparent_;
  char traceparent_text_[55];
  char trace_id_[32];
  char span_id_[16];
  char parent_id_[16];
  char b3_single_[32 + 1 + 16 + 1 + 1 + 1 + 16];
};

}  // namespace weft::proxy
