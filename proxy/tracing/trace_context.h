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
};

// Lower-case hex, fixed width.
void writeHex(uint64_t value, char* out, size_t digits);

// The fields written to the forwarded request for `trace` in `formats`, formatted without
// allocating: traceparent (W3C); x-b3-traceid, x-b3-spanid, x-b3-parentspanid (when there is a
// parent) and x-b3-sampled (B3). `b3_single`: the request carried a "b3" header, which is
// rewritten too.
class TraceHeaders {
 public:
  struct Field {
    std::string_view name;
    std::string_view value;
  };

  TraceHeaders(const RequestTrace& trace, uint8_t formats, bool b3_single);
  // Its fields are views into its own buffers: never copied or moved.
  TraceHeaders(const TraceHeaders&) = delete;
  TraceHeaders& operator=(const TraceHeaders&) = delete;

  const Field* begin() const { return fields_.data(); }
  const Field* end() const { return fields_.data() + count_; }
  // The traceparent value written (empty when W3C is not written).
  std::string_view traceparent() const { return traceparent_; }

 private:
  void add(std::string_view name, std::string_view value) { fields_[count_++] = {name, value}; }

  std::array<Field, 6> fields_{};
  size_t count_ = 0;
  std::string_view traceparent_;
  char traceparent_text_[55] = {};
  char trace_id_[32] = {};
  char span_id_[16] = {};
  char parent_id_[16] = {};
  char b3_single_[32 + 1 + 16 + 1 + 1 + 1 + 16] = {};
};

}  // namespace weft::proxy
