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
// `present`: the request's trace context fields (presentTraceFields); the headers are looked up
// only when some are there.
//
// What is written: W3C whenever the chain reads it, and B3 when the request arrived with B3
// fields (or B3 is the chain's only format), with the single "b3" header when the request
// carried one. A caller's format is answered in kind, and a request that carried none costs
// one field, not five.
RequestTrace startRequestTrace(const ChainTracingConfig& config, const HeaderLookup& headers,
                               uint16_t present, std::string& scratch, TraceRandom& random);

// The request's trace context fields that must not reach the upstream as they came: every
// present field of the chain's formats (rewritten or dropped), except a tracestate that goes
// on with its traceparent.
uint16_t staleTraceFields(const RequestTrace& trace, uint8_t formats, uint16_t present);

// Removes the `stale` fields from a request's fields and adds `headers` (the proxy's span).
void replaceTraceFields(HeaderList& fields, uint16_t stale, const TraceHeaders& headers);

// The span of a finished request, its tags from the request's access log record (the same
// facts, gathered once).
FinishedSpan makeSpan(const ChainTracingConfig& config, const RequestTrace& trace,
                      const AccessLogRecord& record);

}  // namespace weft::proxy
