#include "proxy/http2/header_translation.h"

#include <gtest/gtest.h>

#include <boost/beast/http/empty_body.hpp>

#include "proxy/http2/stream_exchange.h"

namespace weft::proxy {
namespace {

namespace http = boost::beast::http;

RequestHead sampleRequest() {
  return splitRequestHead({{":method", "POST"},
                           {":scheme", "http"},
                           {":authority", "reviews:9080"},
                           {":path", "/api/x?y=1"},
                           {"cookie", "a=1"},
                           {"content-type", "text/plain"},
                           {"cookie", "b=2"},
                           {"te", "trailers"},
                           {"x-forwarded-for", "10.0.0.1"},
                           {"content-length", "5"}});
}

TEST(HeaderCollectorTest, StopsKeepingFieldsPastTheByteLimit) {
  HeaderCollector collector(100, 10);
  collector.add("a", "1");  // 34 bytes as RFC 9113 counts
  collector.add("b", "2");
  EXPECT_FALSE(collector.tooLarge());
  EXPECT_EQ(collector.fields().size(), 2u);
  collector.add("c", std::string(50, 'x'));
  EXPECT_TRUE(collector.tooLarge());
  EXPECT_TRUE(collector.fields().empty());  // nothing more is held once over
  collector.add("d", std::string(100000, 'x'));
  EXPECT_TRUE(collector.fields().empty());
}

TEST(HeaderCollectorTest, CountLimit) {
  HeaderCollector collector(1 << 20, 3);
  for (int i = 0; i < 3; ++i) {
    collector.add("a", "b");
  }
  EXPECT_FALSE(collector.tooLarge());
  collector.add("a", "b");
  EXPECT_TRUE(collector.tooLarge());
}

TEST(SplitRequestHeadTest, PseudoHeadersAndHostFallback) {
  const RequestHead head = sampleRequest();
  EXPECT_EQ(head.method, "POST");
  EXPECT_EQ(head.authority, "reviews:9080");
  EXPECT_EQ(head.path, "/api/x?y=1");
  EXPECT_TRUE(head.has_content_length);
  for (const HeaderField& field : head.fields) {
    EXPECT_NE(field.name[0], ':');
  }
  const RequestHead without_authority =
      splitRequestHead({{":method", "GET"}, {":path", "/"}, {"host", "ratings"}});
  EXPECT_EQ(without_authority.authority, "ratings");
  EXPECT_TRUE(without_authority.fields.empty());  // Host becomes the authority
}

TEST(Http1RequestTextTest, TranslatesAnHttp2Request) {
  ForwardingFacts facts{"127.0.0.1", "req-1", "/v1/x?y=1"};
  const std::string text = http1RequestText(sampleRequest(), facts, false);
  EXPECT_EQ(text.rfind("POST /v1/x?y=1 HTTP/1.1\r\nHost: reviews:9080\r\n", 0), 0u) << text;
  EXPECT_NE(text.find("cookie: a=1; b=2\r\n"), std::string::npos) << text;  // RFC 9113 8.2.3
  EXPECT_NE(text.find("content-length: 5\r\n"), std::string::npos);
  EXPECT_NE(text.find("x-forwarded-for: 10.0.0.1, 127.0.0.1\r\n"), std::string::npos);
  EXPECT_NE(text.find("x-request-id: req-1\r\n"), std::string::npos);
  EXPECT_EQ(text.find("te:"), std::string::npos);  // hop-by-hop on HTTP/1.1
  EXPECT_EQ(text.find("transfer-encoding"), std::string::npos);
  EXPECT_EQ(text.substr(text.size() - 4), "\r\n\r\n");
}

TEST(Http1RequestTextTest, ChunkedReplacesContentLength) {
  const std::string text = http1RequestText(sampleRequest(), {"", "", "/"}, true);
  EXPECT_EQ(text.find("content-length"), std::string::npos);
  EXPECT_NE(text.find("transfer-encoding: chunked\r\n"), std::string::npos);
  EXPECT_EQ(text.find("x-request-id"), std::string::npos);
}

TEST(Http2RequestFieldsTest, KeepsTeTrailersForGrpc) {
  const HeaderList fields = http2RequestFields(sampleRequest(), {"", "", "/svc/Method"});
  ASSERT_GE(fields.size(), 4u);
  EXPECT_EQ(fields[0].name, ":method");
  EXPECT_EQ(fields[3].value, "/svc/Method");
  bool te = false;
  for (const HeaderField& field : fields) {
    te = te || (field.name == "te" && field.value == "trailers");
  }
  EXPECT_TRUE(te);
  const RequestHead gzip_te =
      splitRequestHead({{":method", "GET"}, {":path", "/"}, {"te", "gzip"}});
  for (const HeaderField& field : http2RequestFields(gzip_te, {"", "", "/"})) {
    EXPECT_NE(field.name, "te");
  }
}

TEST(Http2ResponseFieldsTest, DropsConnectionSpecificFields) {
  http::response<http::empty_body> response{http::status::ok, 11};
  response.set(http::field::connection, "keep-alive, X-Hop");
  response.set("X-Hop", "1");
  response.set(http::field::transfer_encoding, "chunked");
  response.set(http::field::keep_alive, "timeout=5");
  response.set("X-Kept", "yes");
  const HeaderList fields = http2ResponseFields(response.base());
  ASSERT_FALSE(fields.empty());
  EXPECT_EQ(fields[0].name, ":status");
  EXPECT_EQ(fields[0].value, "200");
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[1].name, "x-kept");  // lower-case, as HTTP/2 requires
}

TEST(Http1TrailersTest, FieldsAfterTheHeaderAreTrailers) {
  http::fields fields;
  fields.set("content-type", "application/grpc");
  fields.insert("grpc-status", "0");
  fields.insert("Content-Length", "3");  // never allowed in trailers
  const HeaderList trailers = http1Trailers(fields, 1);
  ASSERT_EQ(trailers.size(), 1u);
  EXPECT_EQ(trailers[0].name, "grpc-status");
  EXPECT_EQ(http1LastChunk(trailers), "0\r\ngrpc-status: 0\r\n\r\n");
  EXPECT_EQ(http1LastChunk({}), "0\r\n\r\n");
}

TEST(BodyPipeTest, TakeAndDropKeepOrder) {
  BodyPipe pipe;
  pipe.append("hello ");
  pipe.append("world");
  uint8_t out[5];
  EXPECT_EQ(pipe.take(out, sizeof(out)), 5u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(out), 5), "hello");
  EXPECT_EQ(pipe.peek(), " world");
  pipe.drop(100);
  EXPECT_EQ(pipe.size(), 0u);
}

}  // namespace
}  // namespace weft::proxy
