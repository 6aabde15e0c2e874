// The conversions that let a mirrored request go in its mirror cluster's protocol.
#include "proxy/upstream/mirror_copy.h"

#include <gtest/gtest.h>

namespace weft::proxy {
namespace {

using namespace std::string_view_literals;

std::string fieldValue(const HeaderList& fields, std::string_view name) {
  std::string value;
  for (const HeaderField& field : fields) {
    if (field.name == name) {
      value.append(value.empty() ? "" : "|").append(field.value);
    }
  }
  return value;
}

TEST(Http2CopyTest, AContentLengthRequestBecomesFieldsAndBody) {
  const auto copy = http2Copy(
      "POST /test.Echo/Unary?x=1 HTTP/1.1\r\nHost: echo.test:8080\r\nContent-Type: "
      "application/grpc\r\nTE: trailers\r\nConnection: keep-alive\r\nX-Request-Id: r1\r\n"
      "Content-Length: 5\r\n\r\nhello");
  ASSERT_TRUE(copy.has_value());
  ASSERT_GE(copy->fields.size(), 4U);
  // Pseudo-headers first, as RFC 9113 section 8.3 requires.
  EXPECT_EQ(copy->fields[0], (HeaderField{":method", "POST"}));
  EXPECT_EQ(copy->fields[1], (HeaderField{":scheme", "http"}));
  EXPECT_EQ(copy->fields[2], (HeaderField{":authority", "echo.test:8080"}));
  EXPECT_EQ(copy->fields[3], (HeaderField{":path", "/test.Echo/Unary?x=1"}));
  EXPECT_EQ(fieldValue(copy->fields, "content-type"), "application/grpc");
  EXPECT_EQ(fieldValue(copy->fields, "te"), "trailers");  // gRPC needs it
  EXPECT_EQ(fieldValue(copy->fields, "x-request-id"), "r1");
  EXPECT_EQ(fieldValue(copy->fields, "connection"), "");  // connection-specific: dropped
  EXPECT_EQ(fieldValue(copy->fields, "host"), "");
  EXPECT_EQ(fieldValue(copy->fields, "content-length"), "5");
  EXPECT_EQ(copy->body, "hello");
}

TEST(Http2CopyTest, AChunkedBodyIsDecodedAndTrailersDropped) {
  const auto copy = http2Copy(
      "PUT /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n4\r\ndefg\r\n0\r\nx-checksum: 1\r\n\r\n");
  ASSERT_TRUE(copy.has_value());
  EXPECT_EQ(copy->body, "abcdefg");
  EXPECT_EQ(fieldValue(copy->fields, "content-length"), "7");
  EXPECT_EQ(fieldValue(copy->fields, "transfer-encoding"), "");
  EXPECT_EQ(fieldValue(copy->fields, "x-checksum"), "");
}

TEST(Http2CopyTest, AGrpcRequestRegainsTheTeFieldAnHttp1HopDropped) {
  const auto copy = http2Copy(
      "POST /s/M HTTP/1.1\r\nHost: a\r\ncontent-type: application/grpc+proto\r\n"
      "content-length: 5\r\n\r\n\0\0\0\0\0"sv);
  ASSERT_TRUE(copy.has_value());
  EXPECT_EQ(fieldValue(copy->fields, "te"), "trailers");
  EXPECT_EQ(copy->body.size(), 5U);
}

TEST(Http2CopyTest, AnotherTeValueDoesNotStandForTrailers) {
  const auto copy = http2Copy(
      "POST /s/M HTTP/1.1\r\nHost: a\r\ncontent-type: application/grpc\r\nTE: gzip\r\n"
      "content-length: 0\r\n\r\n");
  ASSERT_TRUE(copy.has_value());
  EXPECT_EQ(fieldValue(copy->fields, "te"), "trailers");  // gzip dropped, trailers added
}

TEST(Http2CopyTest, ABodylessRequestHasNoContentLength) {
  const auto copy = http2Copy("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(copy.has_value());
  EXPECT_EQ(copy->body, "");
  EXPECT_EQ(fieldValue(copy->fields, "content-length"), "");
  EXPECT_EQ(fieldValue(copy->fields, ":method"), "GET");
}

TEST(Http2CopyTest, TextThatIsNotOneWholeRequestIsRefused) {
  EXPECT_FALSE(http2Copy("").has_value());
  EXPECT_FALSE(
      http2Copy("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nshort").has_value());
  EXPECT_FALSE(http2Copy("GET / HTTP/1.1\r\nHost: a\r\n").has_value());
  EXPECT_FALSE(http2Copy("NOT HTTP AT ALL\r\n\r\n").has_value());
}

TEST(Http1CopyTest, FieldsBecomeARequestFramedByContentLength) {
  const HeaderList fields{{":method", "POST"},
                          {":scheme", "http"},
                          {":authority", "echo.test"},
                          {":path", "/test.Echo/Unary"},
                          {"content-type", "application/grpc"},
                          {"te", "trailers"},
                          {"cookie", "a=1"},
                          {"cookie", "b=2"},
                          {"content-length", "99"}};
  EXPECT_EQ(http1Copy(fields, "hello"),
            "POST /test.Echo/Unary HTTP/1.1\r\nHost: echo.test\r\ncontent-type: "
            "application/grpc\r\ncookie: a=1; b=2\r\ncontent-length: 5\r\n\r\nhello");
}

TEST(Http1CopyTest, ABodylessRequestGetsNoContentLength) {
  const HeaderList fields{
      {":method", "GET"}, {":scheme", "https"}, {":authority", "a"}, {":path", "/x"}};
  EXPECT_EQ(http1Copy(fields, ""), "GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
}

TEST(MirrorCopyTest, AnHttp1CopyOfAnHttp2CopyIsTheSameRequest) {
  const std::string original =
      "POST /p HTTP/1.1\r\nHost: h\r\nx-a: 1\r\ncontent-length: 3\r\n\r\nabc";
  const auto http2 = http2Copy(original);
  ASSERT_TRUE(http2.has_value());
  EXPECT_EQ(http1Copy(http2->fields, http2->body), original);
}

}  // namespace
}  // namespace weft::proxy
