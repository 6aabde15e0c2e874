#include "proxy/tracing/trace_context.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <string>

#include "proxy/tracing/request_tracing.h"
#include "proxy/tracing/span_encoding.h"

namespace weft::proxy {
namespace {

class MapLookup final : public HeaderLookup {
 public:
  explicit MapLookup(std::map<std::string, std::string> fields) : fields_(std::move(fields)) {}
  bool find(std::string_view name, std::string&, std::string_view& value) const override {
    auto found = fields_.find(std::string(name));
    if (found == fields_.end()) {
      return false;
    }
    value = found->second;
    return true;
  }

 private:
  std::map<std::string, std::string> fields_;
};

std::optional<IncomingTrace> read(std::map<std::string, std::string> fields,
                                  uint8_t formats = kTraceW3c | kTraceB3) {
  std::string scratch;
  return readTraceContext(MapLookup(std::move(fields)), formats, scratch);
}

TEST(TraceContextTest, ReadsAW3cTraceparentAndTracestate) {
  // The tracestate is a view into the request's fields: the lookup outlives it here.
  const MapLookup fields(
      {{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
       {"tracestate", "congo=t61rcWkgMzE"}});
  std::string scratch;
  const auto trace = readTraceContext(fields, kTraceW3c | kTraceB3, scratch);
  ASSERT_TRUE(trace);
  EXPECT_EQ(trace->trace_high, 0x4bf92f3577b34da6ULL);
  EXPECT_EQ(trace->trace_low, 0xa3ce929d0e0e4736ULL);
  EXPECT_EQ(trace->parent_span, 0x00f067aa0ba902b7ULL);
  EXPECT_EQ(trace->sampled, true);
  EXPECT_EQ(trace->tracestate, "congo=t61rcWkgMzE");
}

TEST(TraceContextTest, RefusesMalformedTraceparents) {
  for (const char* bad :
       {"00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // zero parent
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // upper case
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // version ff
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // v00 with more
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",       // no flags
        "garbage"}) {
    EXPECT_FALSE(read({{"traceparent", bad}}, kTraceW3c)) << bad;
  }
  // A later version may carry more fields.
  EXPECT_TRUE(read({{"traceparent", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-xyz"}},
                   kTraceW3c));
}

TEST(TraceContextTest, ReadsB3SingleAndMultiHeaders) {
  auto single = read({{"b3", "80f198ee56343ba8-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90"}});
  ASSERT_TRUE(single);
  EXPECT_TRUE(single->short_trace_id);
  EXPECT_EQ(single->trace_low, 0x80f198ee56343ba8ULL);
  EXPECT_EQ(single->parent_span, 0xe457b5a2e4d86bd1ULL);
  EXPECT_EQ(single->sampled, true);
  auto decision_only = read({{"b3", "0"}});
  ASSERT_TRUE(decision_only);
  EXPECT_EQ(decision_only->trace_low, 0U);
  EXPECT_EQ(decision_only->sampled, false);
  auto multi = read({{"x-b3-traceid", "463ac35c9f6413ad48485a3953bb6124"},
                     {"x-b3-spanid", "a2fb4a1d1a96d312"},
                     {"x-b3-flags", "1"}});
  ASSERT_TRUE(multi);
  EXPECT_EQ(multi->trace_high, 0x463ac35c9f6413adULL);
  EXPECT_EQ(multi->sampled, true);                             // debug
  EXPECT_FALSE(read({{"x-b3-traceid", "463ac35c9f6413ad"}}));  // no span id
  // W3C first: the B3 headers are not read when a valid traceparent is there.
  auto both = read({{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"},
                    {"b3", "80f198ee56343ba8-e457b5a2e4d86bd1-1"}});
  ASSERT_TRUE(both);
  EXPECT_EQ(both->trace_high, 0x4bf92f3577b34da6ULL);
  EXPECT_EQ(both->sampled, false);
  // A chain that reads B3 only ignores traceparent.
  EXPECT_FALSE(
      read({{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}, kTraceB3));
}

TEST(TraceHeadersTest, WritesTheProxysSpanInEveryFormat) {
  RequestTrace trace;
  trace.trace_high = 0x4bf92f3577b34da6ULL;
  trace.trace_low = 0xa3ce929d0e0e4736ULL;
  trace.span_id = 0x1111111111111111ULL;
  trace.parent_span = 0x00f067aa0ba902b7ULL;
  trace.sampled = true;
  std::map<std::string, std::string> written;
  const TraceHeaders headers(trace, kTraceW3c | kTraceB3, true);
  for (const TraceHeaders::Field& field : headers) {
    written[std::string(field.name)] = std::string(field.value);
  }
  EXPECT_EQ(written, (std::map<std::string, std::string>{
                         {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01"},
                         {"x-b3-traceid", "4bf92f3577b34da6a3ce929d0e0e4736"},
                         {"x-b3-spanid", "1111111111111111"},
                         {"x-b3-parentspanid", "00f067aa0ba902b7"},
                         {"x-b3-sampled", "1"},
                         {"b3",
                          "4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-1-"
                          "00f067aa0ba902b7"}}));
  trace.trace_high = 0;
  trace.short_trace_id = true;
  trace.parent_span = 0;
  trace.sampled = false;
  written.clear();
  for (const TraceHeaders::Field& field : TraceHeaders(trace, kTraceB3, false)) {
    written[std::string(field.name)] = std::string(field.value);
  }
  EXPECT_EQ(written, (std::map<std::string, std::string>{{"x-b3-traceid", "a3ce929d0e0e4736"},
                                                         {"x-b3-spanid", "1111111111111111"},
                                                         {"x-b3-sampled", "0"}}));
}

TEST(RequestTraceTest, ContinuesTheCallersTraceOrStartsOne) {
  ChainTracingConfig config;
  config.sample_threshold = 0;  // never samples on its own
  TraceRandom random(42);
  std::string scratch;
  bool b3_single = true;
  const RequestTrace continued = startRequestTrace(
      config,
      MapLookup(std::map<std::string, std::string>{
          {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}),
      scratch, random, b3_single);
  EXPECT_FALSE(b3_single);
  EXPECT_EQ(continued.trace_low, 0xa3ce929d0e0e4736ULL);
  EXPECT_EQ(continued.parent_span, 0x00f067aa0ba902b7ULL);
  EXPECT_NE(continued.span_id, 0U);
  EXPECT_TRUE(continued.sampled);  // the caller's decision
  const RequestTrace fresh = startRequestTrace(
      config, MapLookup(std::map<std::string, std::string>{}), scratch, random, b3_single);
  EXPECT_NE(fresh.trace_low, 0U);
  EXPECT_EQ(fresh.parent_span, 0U);
  EXPECT_FALSE(fresh.sampled);
  config.sample_threshold = uint64_t{1} << 32;
  EXPECT_TRUE(startRequestTrace(config, MapLookup(std::map<std::string, std::string>{}), scratch,
                                random, b3_single)
                  .sampled);
}

TEST(RequestTraceTest, ATraceIdWithZeroLowBitsIsContinued) {
  ChainTracingConfig config;
  TraceRandom random(7);
  std::string scratch;
  bool b3_single = false;
  const RequestTrace trace = startRequestTrace(
      config,
      MapLookup(std::map<std::string, std::string>{
          {"traceparent", "00-4bf92f3577b34da60000000000000000-00f067aa0ba902b7-01"}}),
      scratch, random, b3_single);
  EXPECT_EQ(trace.trace_high, 0x4bf92f3577b34da6ULL);
  EXPECT_EQ(trace.trace_low, 0U);
  EXPECT_TRUE(trace.keeps_tracestate);
}

TEST(ReplaceTraceFieldsTest, OnlyTheChainsFormatsAreRewritten) {
  RequestTrace trace;
  trace.trace_low = 1;
  trace.span_id = 2;
  trace.keeps_tracestate = true;
  HeaderList fields = {{"traceparent", "00-old"},
                       {"tracestate", "a=1"},
                       {"x-b3-traceid", "keep"},
                       {"x-b3-flags", "1"},
                       {"accept", "*/*"}};
  replaceTraceFields(fields, trace, kTraceW3c, TraceHeaders(trace, kTraceW3c, false));
  std::map<std::string, std::string> after;
  for (const HeaderField& field : fields) {
    after[field.name] = field.value;
  }
  EXPECT_EQ(after.size(), 5U);
  EXPECT_EQ(after["traceparent"], "00-00000000000000000000000000000001-0000000000000002-00");
  EXPECT_EQ(after["tracestate"], "a=1");     // the trace goes on
  EXPECT_EQ(after["x-b3-traceid"], "keep");  // not this chain's format
  EXPECT_EQ(after["x-b3-flags"], "1");
  // A new trace (or one from B3) drops the tracestate; B3 fields are replaced whole.
  trace.keeps_tracestate = false;
  replaceTraceFields(fields, trace, kTraceW3c | kTraceB3,
                     TraceHeaders(trace, kTraceW3c | kTraceB3, false));
  after.clear();
  for (const HeaderField& field : fields) {
    after[field.name] = field.value;
  }
  EXPECT_EQ(after.count("tracestate"), 0U);
  EXPECT_EQ(after.count("x-b3-flags"), 0U);
  EXPECT_EQ(after["x-b3-traceid"], "00000000000000000000000000000001");
}

TEST(SpanEncodingTest, OtlpAndZipkinCarryIdsKindAndTags) {
  FinishedSpan span;
  span.trace = RequestTrace{0x4bf92f3577b34da6ULL,
                            0xa3ce929d0e0e4736ULL,
                            0x1111111111111111ULL,
                            0x00f067aa0ba902b7ULL,
                            true,
                            false};
  span.server = true;
  span.name = "GET reviews:9080";
  span.start = std::chrono::system_clock::time_point(std::chrono::microseconds(1700000000000000));
  span.duration = std::chrono::microseconds(1500);
  span.string_tags = {{"http.method", "GET"}};
  span.int_tags = {{"http.status_code", 503}};
  span.error = true;
  const auto otlp = boost::json::parse(encodeOtlpJson({&span, 1}, "reviews-v1"));
  const auto& resource = otlp.at("resourceSpans").at(0);
  EXPECT_EQ(resource.at("resource").at("attributes").at(0).at("value").at("stringValue"),
            "reviews-v1");
  const auto& encoded = resource.at("scopeSpans").at(0).at("spans").at(0);
  EXPECT_EQ(encoded.at("traceId"), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(encoded.at("spanId"), "1111111111111111");
  EXPECT_EQ(encoded.at("parentSpanId"), "00f067aa0ba902b7");
  EXPECT_EQ(encoded.at("kind"), 2);
  EXPECT_EQ(encoded.at("startTimeUnixNano"), "1700000000000000000");
  EXPECT_EQ(encoded.at("endTimeUnixNano"), "1700000000001500000");
  EXPECT_EQ(encoded.at("status").at("code"), 2);
  EXPECT_EQ(encoded.at("attributes").at(1).at("value").at("intValue"), "503");
  const auto zipkin = boost::json::parse(encodeZipkinJson({&span, 1}, "reviews-v1")).at(0);
  EXPECT_EQ(zipkin.at("id"), "1111111111111111");
  EXPECT_EQ(zipkin.at("parentId"), "00f067aa0ba902b7");
  EXPECT_EQ(zipkin.at("kind"), "SERVER");
  EXPECT_EQ(zipkin.at("timestamp"), 1700000000000000);
  EXPECT_EQ(zipkin.at("duration"), 1500);
  EXPECT_EQ(zipkin.at("tags").at("http.status_code"), "503");
  EXPECT_EQ(zipkin.at("tags").at("error"), "true");
  EXPECT_EQ(zipkin.at("localEndpoint").at("serviceName"), "reviews-v1");
}

}  // namespace
}  // namespace weft::proxy
