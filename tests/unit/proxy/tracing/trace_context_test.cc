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
  // A bare decision beside x-b3-* ids: the ids are read, and the decision kept.
  auto decision_and_ids = read(
      {{"b3", "1"}, {"x-b3-traceid", "463ac35c9f6413ad"}, {"x-b3-spanid", "a2fb4a1d1a96d312"}});
  ASSERT_TRUE(decision_and_ids);
  EXPECT_EQ(decision_and_ids->trace_low, 0x463ac35c9f6413adULL);
  EXPECT_EQ(decision_and_ids->parent_span, 0xa2fb4a1d1a96d312ULL);
  EXPECT_EQ(decision_and_ids->sampled, true);
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
  trace.write_formats = kTraceW3c | kTraceB3;
  trace.b3_single = true;
  std::map<std::string, std::string> written;
  const TraceHeaders headers(trace);
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
  trace.write_formats = kTraceB3;
  trace.b3_single = false;
  written.clear();
  for (const TraceHeaders::Field& field : TraceHeaders(trace)) {
    written[std::string(field.name)] = std::string(field.value);
  }
  EXPECT_EQ(written, (std::map<std::string, std::string>{{"x-b3-traceid", "a3ce929d0e0e4736"},
                                                         {"x-b3-spanid", "1111111111111111"},
                                                         {"x-b3-sampled", "0"}}));
}

// startRequestTrace over a map of lower-case fields, their presence found as the sessions do.
RequestTrace startFrom(const ChainTracingConfig& config,
                       const std::map<std::string, std::string>& fields, TraceRandom& random) {
  HeaderList list;
  for (const auto& [name, value] : fields) {
    list.push_back({name, value});
  }
  std::string scratch;
  return startRequestTrace(config, MapLookup(fields), presentTraceFields(list), scratch, random);
}

TEST(RequestTraceTest, ContinuesTheCallersTraceOrStartsOne) {
  ChainTracingConfig config;
  config.sample_threshold = 0;  // never samples on its own
  TraceRandom random(42);
  const RequestTrace continued = startFrom(
      config, {{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}, random);
  EXPECT_FALSE(continued.b3_single);
  EXPECT_EQ(continued.trace_low, 0xa3ce929d0e0e4736ULL);
  EXPECT_EQ(continued.parent_span, 0x00f067aa0ba902b7ULL);
  EXPECT_NE(continued.span_id, 0U);
  EXPECT_TRUE(continued.sampled);  // the caller's decision
  const RequestTrace fresh = startFrom(config, {}, random);
  EXPECT_NE(fresh.trace_low, 0U);
  EXPECT_EQ(fresh.parent_span, 0U);
  EXPECT_FALSE(fresh.sampled);
  config.sample_threshold = uint64_t{1} << 32;
  EXPECT_TRUE(startFrom(config, {}, random).sampled);
}

TEST(RequestTraceTest, ContextFieldsAreNotLookedUpWhenNoneArePresent) {
  // A lookup that would find a context: with no trace field present it must not be asked.
  ChainTracingConfig config;
  TraceRandom random(3);
  std::string scratch;
  const MapLookup lookup(std::map<std::string, std::string>{
      {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}});
  EXPECT_EQ(startRequestTrace(config, lookup, 0, scratch, random).parent_span, 0U);
  EXPECT_EQ(startRequestTrace(config, lookup, kFieldTraceparent, scratch, random).parent_span,
            0x00f067aa0ba902b7ULL);
}

TEST(RequestTraceTest, WritesW3cAndAnswersB3InKind) {
  ChainTracingConfig config;  // both formats
  TraceRandom random(5);
  const RequestTrace fresh = startFrom(config, {}, random);
  EXPECT_EQ(fresh.write_formats, kTraceW3c);
  const RequestTrace from_b3 = startFrom(
      config, {{"x-b3-traceid", "463ac35c9f6413ad"}, {"x-b3-spanid", "a2fb4a1d1a96d312"}}, random);
  EXPECT_EQ(from_b3.write_formats, kTraceW3c | kTraceB3);
  EXPECT_FALSE(from_b3.b3_single);
  EXPECT_EQ(from_b3.trace_low, 0x463ac35c9f6413adULL);
  // A bare sampling decision is B3 too; the single header is answered with one.
  EXPECT_EQ(startFrom(config, {{"x-b3-sampled", "0"}}, random).write_formats, kTraceW3c | kTraceB3);
  const RequestTrace single =
      startFrom(config, {{"b3", "80f198ee56343ba8-e457b5a2e4d86bd1-1"}}, random);
  EXPECT_TRUE(single.b3_single);
  EXPECT_EQ(single.write_formats, kTraceW3c | kTraceB3);
  // A chain of one format writes that format only, whatever arrived.
  config.formats = kTraceB3;
  EXPECT_EQ(startFrom(config, {}, random).write_formats, kTraceB3);
  config.formats = kTraceW3c;
  const RequestTrace w3c_only =
      startFrom(config, {{"b3", "80f198ee56343ba8-e457b5a2e4d86bd1-1"}}, random);
  EXPECT_EQ(w3c_only.write_formats, kTraceW3c);
  EXPECT_FALSE(w3c_only.b3_single);
  EXPECT_EQ(w3c_only.parent_span, 0U);  // B3 is not read either
}

TEST(RequestTraceTest, ATraceIdWithZeroLowBitsIsContinued) {
  ChainTracingConfig config;
  TraceRandom random(7);
  const RequestTrace trace = startFrom(
      config, {{"traceparent", "00-4bf92f3577b34da60000000000000000-00f067aa0ba902b7-01"}}, random);
  EXPECT_EQ(trace.trace_high, 0x4bf92f3577b34da6ULL);
  EXPECT_EQ(trace.trace_low, 0U);
  EXPECT_TRUE(trace.keeps_tracestate);
}

TEST(TraceFieldBitTest, NamesAnyCaseAndNothingElse) {
  EXPECT_EQ(traceFieldBit("traceparent"), kFieldTraceparent);
  EXPECT_EQ(traceFieldBit("TraceParent"), kFieldTraceparent);
  EXPECT_EQ(traceFieldBit("tracestate"), kFieldTracestate);
  EXPECT_EQ(traceFieldBit("B3"), kFieldB3);
  EXPECT_EQ(traceFieldBit("X-B3-TraceId"), kFieldB3TraceId);
  EXPECT_EQ(traceFieldBit("x-b3-spanid"), kFieldB3SpanId);
  EXPECT_EQ(traceFieldBit("x-b3-parentspanid"), kFieldB3ParentSpanId);
  EXPECT_EQ(traceFieldBit("x-b3-sampled"), kFieldB3Sampled);
  EXPECT_EQ(traceFieldBit("x-b3-flags"), kFieldB3Flags);
  for (const char* other : {"b4", "accept", "x-request-id", "traceparenT2", "x-b3-spanidx",
                            "user-agent", "x-b3-tracei", ""}) {
    EXPECT_EQ(traceFieldBit(other), 0) << other;
  }
}

TEST(WriteHexTest, FixedWidthLowerCase) {
  char out[17] = {};
  writeHex(0x00f067aa0ba902b7ULL, out, 16);
  EXPECT_STREQ(out, "00f067aa0ba902b7");
  char odd[4] = {};
  writeHex(0xabc, odd, 3);
  EXPECT_STREQ(odd, "abc");
  char one[2] = {};
  writeHex(0x1f, one, 1);
  EXPECT_STREQ(one, "f");
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
  uint16_t present = presentTraceFields(fields);
  EXPECT_EQ(present, kFieldTraceparent | kFieldTracestate | kFieldB3TraceId | kFieldB3Flags);
  trace.write_formats = kTraceW3c;
  replaceTraceFields(fields, staleTraceFields(trace, kTraceW3c, present), TraceHeaders(trace));
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
  trace.write_formats = kTraceW3c | kTraceB3;
  present = presentTraceFields(fields);
  replaceTraceFields(fields, staleTraceFields(trace, kTraceW3c | kTraceB3, present),
                     TraceHeaders(trace));
  after.clear();
  for (const HeaderField& field : fields) {
    after[field.name] = field.value;
  }
  EXPECT_EQ(after.count("tracestate"), 0U);
  EXPECT_EQ(after.count("x-b3-flags"), 0U);
  EXPECT_EQ(after["x-b3-traceid"], "00000000000000000000000000000001");
  EXPECT_EQ(fields.size(), 5U);  // accept, traceparent, x-b3-traceid/spanid/sampled: none twice
  // A chain without W3C leaves a tracestate with its traceparent.
  EXPECT_EQ(staleTraceFields(trace, kTraceB3, kFieldTraceparent | kFieldTracestate), 0);
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

TEST(SpanEncodingTest, UntrustedTextStaysOneJsonString) {
  // Paths, hosts and user agents come from clients: quotes, backslashes, control bytes and
  // invalid UTF-8 must neither break the document nor bleed into another member.
  FinishedSpan first;
  first.trace.trace_low = 1;
  first.trace.span_id = 2;
  first.trace.short_trace_id = true;
  first.name = "GET \"evil\\\n";
  first.string_tags = {{"http.url", std::string("/a\"b\x01\xff", 6)}};
  const std::vector<FinishedSpan> spans = {first, first};
  const auto zipkin = boost::json::parse(encodeZipkinJson(spans, "svc\"")).as_array();
  ASSERT_EQ(zipkin.size(), 2U);
  EXPECT_EQ(zipkin.at(0).at("name"), "GET \"evil\\\n");
  EXPECT_EQ(zipkin.at(0).at("tags").at("http.url"), "/a\"b\x01\xef\xbf\xbd");
  EXPECT_EQ(zipkin.at(0).at("traceId"), "0000000000000001");
  EXPECT_EQ(zipkin.at(0).at("localEndpoint").at("serviceName"), "svc\"");
  const auto otlp = boost::json::parse(encodeOtlpJson(spans, "svc\""));
  const auto& encoded = otlp.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans");
  ASSERT_EQ(encoded.as_array().size(), 2U);
  EXPECT_EQ(encoded.at(1).at("attributes").at(0).at("value").at("stringValue"),
            "/a\"b\x01\xef\xbf\xbd");
  EXPECT_EQ(encoded.at(0).at("traceId"), "00000000000000000000000000000001");
  EXPECT_FALSE(encoded.at(0).as_object().contains("parentSpanId"));
  EXPECT_TRUE(boost::json::parse(encodeOtlpJson({}, "svc")).is_object());
  EXPECT_EQ(boost::json::parse(encodeZipkinJson({}, "svc")).as_array().size(), 0U);
}

size_t occurrences(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++count;
  }
  return count;
}

TEST(MakeSpanTest, StaticTagsNeverRepeatAName) {
  ChainTracingConfig config;
  config.tags = {{"mesh", "prod"},
                 {"http.method", "static"},
                 {"http.status_code", "static"},
                 {"error", "static"}};
  AccessLogRecord record;
  record.method = "GET";
  record.authority = "reviews:9080";
  record.response_code = 503;
  record.response_flags = "-";
  RequestTrace trace;
  trace.trace_low = 1;
  trace.span_id = 2;
  const std::vector<FinishedSpan> spans = {makeSpan(config, trace, record)};
  EXPECT_TRUE(spans[0].error);
  // A parser keeps only the last of repeated members: the text itself is counted.
  const std::string zipkin = encodeZipkinJson(spans, "svc");
  EXPECT_EQ(occurrences(zipkin, "\"http.method\":"), 1U);
  EXPECT_EQ(occurrences(zipkin, "\"http.status_code\":"), 1U);
  EXPECT_EQ(occurrences(zipkin, "\"error\":"), 1U);
  const auto tags = boost::json::parse(zipkin).at(0).at("tags");
  EXPECT_EQ(tags.at("http.method"), "GET");  // the request's fact, not the static tag
  EXPECT_EQ(tags.at("http.status_code"), "503");
  EXPECT_EQ(tags.at("error"), "true");
  EXPECT_EQ(tags.at("mesh"), "prod");
  const std::string otlp = encodeOtlpJson(spans, "svc");
  EXPECT_EQ(occurrences(otlp, "\"key\":\"http.method\""), 1U);
  EXPECT_EQ(occurrences(otlp, "\"key\":\"http.status_code\""), 1U);
  EXPECT_EQ(occurrences(otlp, "\"key\":\"error\""), 0U);  // OTLP says it in the status
  EXPECT_EQ(occurrences(otlp, "\"key\":\"mesh\""), 1U);
}

}  // namespace
}  // namespace weft::proxy
