#include "proxy/tracing/span_encoding.h"

#include <algorithm>
#include <charconv>

#include "common/log/json_formatter.h"

namespace weft::proxy {
namespace {

// The encoders write JSON text directly: a batch is encoded on the worker that served its
// requests, and building a document tree first cost several times more per span.
class JsonWriter {
 public:
  void raw(std::string_view text) { out_.append(text.data(), text.data() + text.size()); }
  void string(std::string_view text) { log::appendJsonString(text, out_); }
  // "key": (with a comma before every member but an object's first)
  void key(std::string_view name) {
    separate();
    string(name);
    out_.push_back(':');
    first_ = true;  // the value that follows needs no comma
  }
  void open(char bracket) {
    separate();
    out_.push_back(bracket);
    first_ = true;
  }
  void close(char bracket) {
    out_.push_back(bracket);
    first_ = false;
  }
  void number(int64_t value) {
    separate();
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof(digits), value).ptr;
    out_.append(digits, end);
    first_ = false;
  }
  // A number as a JSON string (OTLP's 64-bit integers, Zipkin's tag values).
  void quotedNumber(int64_t value) {
    separate();
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof(digits), value).ptr;
    out_.push_back('"');
    out_.append(digits, end);
    out_.push_back('"');
    first_ = false;
  }
  void text(std::string_view value) {
    separate();
    string(value);
    first_ = false;
  }
  void hex(uint64_t value) {
    char digits[16];
    writeHex(value, digits, 16);
    text(std::string_view(digits, 16));
  }
  void traceId(const RequestTrace& trace, bool short_form) {
    char digits[32];
    writeHex(trace.trace_high, digits, 16);
    writeHex(trace.trace_low, digits + 16, 16);
    text(short_form ? std::string_view(digits + 16, 16) : std::string_view(digits, 32));
  }
  std::string take() const { return std::string(out_.data(), out_.size()); }

 private:
  void separate() {
    if (!first_) {
      out_.push_back(',');
    }
  }

  spdlog::memory_buf_t out_;
  bool first_ = true;
};

int64_t nanosSinceEpoch(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
}

// {"key":"<key>","value":{"<type>":<value>}}: an OTLP attribute, its value written by `value`.
template <class WriteValue>
void otlpAttribute(JsonWriter& json, std::string_view key, std::string_view type,
                   WriteValue value) {
  json.open('{');
  json.key("key");
  json.text(key);
  json.key("value");
  json.open('{');
  json.key(type);
  value();
  json.close('}');
  json.close('}');
}

}  // namespace

std::string encodeOtlpJson(std::span<const FinishedSpan> spans, std::string_view service_name) {
  JsonWriter json;
  json.open('{');
  json.key("resourceSpans");
  json.open('[');
  json.open('{');
  json.key("resource");
  json.open('{');
  json.key("attributes");
  json.open('[');
  otlpAttribute(json, "service.name", "stringValue", [&] { json.text(service_name); });
  json.close(']');
  json.close('}');
  json.key("scopeSpans");
  json.open('[');
  json.open('{');
  json.key("scope");
  json.open('{');
  json.key("name");
  json.text("weft-proxy");
  json.close('}');
  json.key("spans");
  json.open('[');
  for (const FinishedSpan& span : spans) {
    json.open('{');
    json.key("traceId");
    json.traceId(span.trace, false);
    json.key("spanId");
    json.hex(span.trace.span_id);
    if (span.trace.parent_span != 0) {
      json.key("parentSpanId");
      json.hex(span.trace.parent_span);
    }
    json.key("name");
    json.text(span.name);
    json.key("kind");
    json.number(span.server ? 2 : 3);  // SPAN_KIND_SERVER, SPAN_KIND_CLIENT
    const int64_t start = nanosSinceEpoch(span.start);
    json.key("startTimeUnixNano");
    json.quotedNumber(start);
    json.key("endTimeUnixNano");
    json.quotedNumber(start + span.duration.count());
    json.key("attributes");
    json.open('[');
    for (const auto& [key, value] : span.string_tags) {
      otlpAttribute(json, key, "stringValue", [&] { json.text(value); });
    }
    for (const auto& [key, value] : span.int_tags) {
      otlpAttribute(json, key, "intValue", [&] { json.quotedNumber(value); });
    }
    json.close(']');
    json.key("status");
    json.open('{');
    json.key("code");
    json.number(span.error ? 2 : 0);  // STATUS_CODE_ERROR, STATUS_CODE_UNSET
    json.close('}');
    json.close('}');
  }
  json.close(']');
  json.close('}');
  json.close(']');
  json.close('}');
  json.close(']');
  json.close('}');
  return json.take();
}

std::string encodeZipkinJson(std::span<const FinishedSpan> spans, std::string_view service_name) {
  JsonWriter json;
  json.open('[');
  for (const FinishedSpan& span : spans) {
    json.open('{');
    json.key("traceId");
    json.traceId(span.trace, span.trace.short_trace_id);
    json.key("id");
    json.hex(span.trace.span_id);
    if (span.trace.parent_span != 0) {
      json.key("parentId");
      json.hex(span.trace.parent_span);
    }
    json.key("name");
    json.text(span.name);
    json.key("kind");
    json.text(span.server ? "SERVER" : "CLIENT");
    json.key("timestamp");
    json.number(nanosSinceEpoch(span.start) / 1000);
    json.key("duration");
    json.number(std::max<int64_t>(1, span.duration.count() / 1000));
    json.key("localEndpoint");
    json.open('{');
    json.key("serviceName");
    json.text(service_name);
    json.close('}');
    // Zipkin tags are strings. Tag names are unique (makeSpan sees to it).
    json.key("tags");
    json.open('{');
    for (const auto& [key, value] : span.string_tags) {
      json.key(key);
      json.text(value);
    }
    for (const auto& [key, value] : span.int_tags) {
      json.key(key);
      json.quotedNumber(value);
    }
    if (span.error) {
      json.key("error");
      json.text("true");
    }
    json.close('}');
    json.close('}');
  }
  json.close(']');
  return json.take();
}

}  // namespace weft::proxy
