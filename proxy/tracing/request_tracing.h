#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "proxy/access_log/access_log_record.h"
#include "proxy/http2/header_translation.h"
#include "proxy/tracing/finished_span.h"
#include "proxy/tracing/trace_context.h"
#include "proxy/tracing/tracing_config.h"

namespace weft::proxy {

// A worker's source of span and trace ids and of sampling draws (xorshift64*: fast, and ids
// need to be unique, not secret).
class TraceRandom {
 public:
  TraceRandom() : state_((uint64_t{std::random_device()()} << 32) | std::random_device()() | 1) {}
  explicit TraceRandom(uint64_t seed) : state_(seed | 1) {}

  uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1DULL;
  }
  // Never 0, which both formats reserve for "no id".
  uint64_t nextId() {
    uint64_t id = next();
    return id != 0 ? id : 1;
  }

 private:
  uint64_t state_;
};

// The proxy's span for a request on a chain with tracing: it continues the trace the request
// carries in one of the chain's formats (or starts one), gets a new span id whose parent is the
// caller's span, and keeps the caller's sampling decision (or draws one at the chain's share).
// `b3_single` is set when the request carried a "b3" header (it is rewritten too).
RequestTrace startRequestTrace(const ChainTracingConfig& config, const HeaderLookup& headers,
                               std::string& scratch, TraceRandom& random, bool& b3_single);

// Replaces the fields of `formats` in a request's fields (W3C: traceparent; B3: b3, x-b3-*)
// with `headers` (the proxy's span `trace`). A tracestate stays only when `trace` continues the
// request's traceparent; other formats' fields and everything else stay.
void replaceTraceFields(HeaderList& fields, const RequestTrace& trace, uint8_t formats,
                        const TraceHeaders& headers);

// Whether the field (lower-case name) is one of `formats` that the proxy rewrites, or a
// tracestate to drop.
bool isTraceField(std::string_view name, uint8_t formats, bool drop_tracestate);

// The span of a finished request, its tags from the request's access log record (the same
// facts, gathered once).
FinishedSpan makeSpan(const ChainTracingConfig& config, const RequestTrace& trace,
                      const AccessLogRecord& record);

}  // namespace weft::proxy
