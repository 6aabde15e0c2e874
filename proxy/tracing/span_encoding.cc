#include "proxy/tracing/span_encoding.h"

#include <boost/json.hpp>

namespace weft::proxy {
namespace {

namespace json = boost::json;

std::string hex(uint64_t value) {
  std::string out(16, '0');
  writeHex(value, out.data(), 16);
  return out;
}

std::string traceId(const RequestTrace& trace) {
  std::string out(32, '0');
  writeHex(trace.trace_high, out.data(), 16);
  writeHex(trace.trace_low, out.data() + 16, 16);
  return out;
}

int64_t nanosSinceEpoch(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
}

json::object otlpAttribute(std::string_view key, json::value value) {
  return json::object{{"key", key}, {"value", std::move(value)}};
}

}  // namespace

std::string encodeOtlpJson(std::span<const FinishedSpan> spans, std::string_view service_name) {
  json::array encoded;
  encoded.reserve(spans.size());
  for (const FinishedSpan& span : spans) {
    json::object out;
    out["traceId"] = traceId(span.trace);
    out["spanId"] = hex(span.trace.span_id);
    if (span.trace.parent_span != 0) {
      out["parentSpanId"] = hex(span.trace.parent_span);
    }
    out["name"] = span.name;
    out["kind"] = span.server ? 2 : 3;  // SPAN_KIND_SERVER, SPAN_KIND_CLIENT
    const int64_t start = nanosSinceEpoch(span.start);
    out["startTimeUnixNano"] = std::to_string(start);
    out["endTimeUnixNano"] = std::to_string(start + span.duration.count());
    json::array attributes;
    for (const auto& [key, value] : span.string_tags) {
      attributes.push_back(otlpAttribute(key, json::object{{"stringValue", value}}));
    }
    for (const auto& [key, value] : span.int_tags) {
      attributes.push_back(otlpAttribute(key, json::object{{"intValue", std::to_string(value)}}));
    }
    out["attributes"] = std::move(attributes);
    out["status"] = json::object{{"code", span.error ? 2 : 0}};  // STATUS_CODE_ERROR, UNSET
    encoded.push_back(std::move(out));
  }
  json::object resource{
      {"attributes",
       json::array{otlpAttribute("service.name", json::object{{"stringValue", service_name}})}}};
  json::object scope_spans{{"scope", json::object{{"name", "weft-proxy"}}},
                           {"spans", std::move(encoded)}};
  json::object resource_spans{{"resource", std::move(resource)},
                              {"scopeSpans", json::array{std::move(scope_spans)}}};
  return json::serialize(json::object{{"resourceSpans", json::array{std::move(resource_spans)}}});
}

std::string encodeZipkinJson(std::span<const FinishedSpan> spans, std::string_view service_name) {
  json::array encoded;
  encoded.reserve(spans.size());
  for (const FinishedSpan& span : spans) {
    json::object out;
    out["traceId"] = span.trace.short_trace_id ? hex(span.trace.trace_low) : traceId(span.trace);
    out["id"] = hex(span.trace.span_id);
    if (span.trace.parent_span != 0) {
      out["parentId"] = hex(span.trace.parent_span);
    }
    out["name"] = span.name;
    out["kind"] = span.server ? "SERVER" : "CLIENT";
    out["timestamp"] = nanosSinceEpoch(span.start) / 1000;
    out["duration"] = std::max<int64_t>(1, span.duration.count() / 1000);
    out["localEndpoint"] = json::object{{"serviceName", service_name}};
    json::object tags;
    for (const auto& [key, value] : span.string_tags) {
      tags[key] = value;
    }
    for (const auto& [key, value] : span.int_tags) {
      tags[key] = std::to_string(value);  // Zipkin tags are strings
    }
    if (span.error) {
      tags["error"] = "true";
    }
    out["tags"] = std::move(tags);
    encoded.push_back(std::move(out));
  }
  return json::serialize(encoded);
}

}  // namespace weft::proxy
