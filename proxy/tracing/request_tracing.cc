#include "proxy/tracing/request_tracing.h"

#include <algorithm>

namespace weft::proxy {

RequestTrace startRequestTrace(const ChainTracingConfig& config, const HeaderLookup& headers,
                               uint16_t present, std::string& scratch, TraceRandom& random) {
  RequestTrace trace;
  const uint16_t readable = ((config.formats & kTraceW3c) != 0 ? kFieldTraceparent : 0) |
                            ((config.formats & kTraceB3) != 0 ? kB3Fields : 0);
  std::optional<IncomingTrace> incoming;
  if ((present & readable) != 0) {
    incoming = readTraceContext(headers, config.formats, scratch);
  }
  if (incoming && (incoming->trace_high != 0 || incoming->trace_low != 0)) {
    trace.trace_high = incoming->trace_high;
    trace.trace_low = incoming->trace_low;
    trace.parent_span = incoming->parent_span;
    trace.short_trace_id = incoming->short_trace_id;
    trace.keeps_tracestate = incoming->from_w3c;
  } else {
    trace.trace_high = random.nextId();
    trace.trace_low = random.nextId();
  }
  trace.span_id = random.nextId();
  if (incoming && incoming->sampled) {
    trace.sampled = *incoming->sampled;
  } else {
    trace.sampled = (random.next() >> 32) < config.sample_threshold;
  }
  const bool reads_b3 = (config.formats & kTraceB3) != 0;
  trace.write_formats = config.formats & kTraceW3c;
  if (reads_b3 && (trace.write_formats == 0 || (present & kB3Fields) != 0)) {
    trace.write_formats |= kTraceB3;
  }
  trace.b3_single = reads_b3 && (present & kFieldB3) != 0;
  return trace;
}

uint16_t staleTraceFields(const RequestTrace& trace, uint8_t formats, uint16_t present) {
  uint16_t owned = 0;
  if ((formats & kTraceW3c) != 0) {
    // A tracestate belongs to its traceparent: it goes on only with that trace. (A chain
    // without W3C leaves both alone.)
    owned |= kFieldTraceparent | (trace.keeps_tracestate ? 0 : kFieldTracestate);
  }
  if ((formats & kTraceB3) != 0) {
    owned |= kB3Fields;
  }
  return present & owned;
}

void replaceTraceFields(HeaderList& fields, uint16_t stale, const TraceHeaders& headers) {
  if (stale != 0) {
    std::erase_if(
        fields, [stale](const HeaderField& field) { return (traceFieldBit(field.name) & stale); });
  }
  for (const TraceHeaders::Field& field : headers) {
    fields.push_back({std::string(field.name), std::string(field.value)});
  }
}

FinishedSpan makeSpan(const ChainTracingConfig& config, const RequestTrace& trace,
                      const AccessLogRecord& record) {
  FinishedSpan span;
  span.trace = trace;
  span.server = config.server_spans;
  span.name.append(record.method).append(" ").append(record.authority);
  span.start = record.start_time;
  span.duration = std::chrono::duration_cast<std::chrono::nanoseconds>(record.duration);
  span.error = record.response_code >= 500 || record.response_code == 0 ||
               (!record.response_flags.empty() && record.response_flags != "-");
  auto tag = [&span](std::string_view key, std::string_view value) {
    if (!value.empty()) {
      span.string_tags.emplace_back(std::string(key), std::string(value));
    }
  };
  tag("http.method", record.method);
  tag("http.url", record.path);
  tag("http.protocol", record.protocol);
  tag("http.host", record.authority);
  tag("user_agent", record.user_agent);
  tag("request_id", record.request_id);
  tag("response_flags", record.response_flags);
  tag("upstream_cluster", record.upstream_cluster);
  if (record.upstream_host) {
    tag("upstream_address", record.upstream_host->address().to_string() + ":" +
                                std::to_string(record.upstream_host->port()));
  }
  tag("peer.address", record.downstream_peer.address().to_string());
  tag("downstream_principal", record.downstream_principal);
  tag("component", "proxy");
  span.int_tags.emplace_back("http.status_code", record.response_code);
  if (record.grpc_status >= 0) {
    span.int_tags.emplace_back("grpc.status_code", record.grpc_status);
  }
  // A static tag never repeats a name the span already has (a JSON object or an OTLP attribute
  // list must not name a key twice): the request's facts win, and "error" is the encoders'.
  const size_t request_tags = span.string_tags.size();
  for (const auto& [key, value] : config.tags) {
    const auto named = [&key](const auto& existing) { return existing.first == key; };
    const auto request_end = span.string_tags.begin() + static_cast<std::ptrdiff_t>(request_tags);
    if (key == "error" || std::any_of(span.string_tags.begin(), request_end, named) ||
        std::any_of(span.int_tags.begin(), span.int_tags.end(), named)) {
      continue;
    }
    span.string_tags.emplace_back(key, value);
  }
  return span;
}

}  // namespace weft::proxy
