#include "proxy/tracing/request_tracing.h"

#include <algorithm>

namespace weft::proxy {

RequestTrace startRequestTrace(const ChainTracingConfig& config, const HeaderLookup& headers,
                               std::string& scratch, TraceRandom& random, bool& b3_single) {
  RequestTrace trace;
  std::string_view ignored;
  b3_single = (config.formats & kTraceB3) != 0 && headers.find("b3", scratch, ignored);
  const std::optional<IncomingTrace> incoming = readTraceContext(headers, config.formats, scratch);
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
  return trace;
}

bool isTraceField(std::string_view name, uint8_t formats, bool drop_tracestate) {
  if ((formats & kTraceW3c) != 0 &&
      (name == "traceparent" || (drop_tracestate && name == "tracestate"))) {
    return true;
  }
  return (formats & kTraceB3) != 0 &&
         (name == "b3" || name == "x-b3-traceid" || name == "x-b3-spanid" ||
          name == "x-b3-parentspanid" || name == "x-b3-sampled" || name == "x-b3-flags");
}

void replaceTraceFields(HeaderList& fields, const RequestTrace& trace, uint8_t formats,
                        const TraceHeaders& headers) {
  const bool drop_tracestate = !trace.keeps_tracestate;
  std::erase_if(fields, [&](const HeaderField& field) {
    return isTraceField(field.name, formats, drop_tracestate);
  });
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
  for (const auto& [key, value] : config.tags) {
    span.string_tags.emplace_back(key, value);
  }
  return span;
}

}  // namespace weft::proxy
