// The HTTP/1 building blocks of the relay: head serialization, chunk framing
// and the in-place parse loop that replaced Beast's composed reads.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstring>
#include <optional>

#include "proxy/http1/buffered_parse.h"
#include "proxy/http1/message_head_writer.h"
#include "proxy/io/deadline_stream.h"

namespace weft::proxy {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;

TEST(MessageHeadWriterTest, RequestHeadIsTheWireForm) {
  http::request<http::empty_body> request{http::verb::post, "/a?b=c", 11};
  request.set(http::field::host, "svc");
  request.insert("X-Custom", "1");
  std::string out;
  appendMessageHead(request.base(), out);
  EXPECT_EQ(out, "POST /a?b=c HTTP/1.1\r\nHost: svc\r\nX-Custom: 1\r\n\r\n");
}

TEST(MessageHeadWriterTest, ResponseHeadKeepsTheUpstreamReasonOrUsesTheStandardOne) {
  http::response<http::empty_body> response{http::status::not_found, 10};
  response.reason("Nope");
  std::string out;
  appendMessageHead(response.base(), out);
  EXPECT_EQ(out, "HTTP/1.0 404 Nope\r\n\r\n");

  http::response<http::empty_body> plain{http::status::service_unavailable, 11};
  out.clear();
  appendMessageHead(plain.base(), out);
  EXPECT_EQ(out, "HTTP/1.1 503 Service Unavailable\r\n\r\n");
}

TEST(MessageHeadWriterTest, ChunkSizeLineIsHexWithCrlf) {
  char storage[20];
  auto line = chunkSizeLine(0x1f40, storage);
  EXPECT_EQ(std::string(static_cast<const char*>(line.data()), line.size()), "1f40\r\n");
  line = chunkSizeLine(1, storage);
  EXPECT_EQ(std::string(static_cast<const char*>(line.data()), line.size()), "1\r\n");
}

boost::beast::flat_buffer bufferWith(std::string_view text) {
  boost::beast::flat_buffer buffer;
  auto space = buffer.prepare(text.size());
  std::memcpy(space.data(), text.data(), text.size());
  buffer.commit(text.size());
  return buffer;
}

TEST(BufferedParseTest, AWholeBufferedHeaderParsesWithoutARead) {
  auto buffer = bufferWith("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next");
  http::request_parser<http::buffer_body> parser;
  error_code error;
  EXPECT_TRUE(parseBuffered(parser, buffer, error));
  EXPECT_FALSE(error);
  EXPECT_TRUE(parser.is_header_done());
  // Only the first header was consumed: the pipelined request stays buffered.
  EXPECT_EQ(buffer.size(), std::string_view("GET /next").size());
}

TEST(BufferedParseTest, APartialHeaderAsksForMoreAndKeepsItsBytes) {
  auto buffer = bufferWith("GET / HTTP/1.1\r\nHo");
  http::request_parser<http::buffer_body> parser;
  error_code error;
  EXPECT_FALSE(parseBuffered(parser, buffer, error));
  EXPECT_FALSE(error);
  EXPECT_FALSE(parser.is_header_done());
}

TEST(BufferedParseTest, MalformedBytesReportBeastsError) {
  auto buffer = bufferWith("GET / HTTP/1.1\nHost: a\n\n");  // bare LF
  http::request_parser<http::buffer_body> parser;
  error_code error;
  EXPECT_TRUE(parseBuffered(parser, buffer, error));
  EXPECT_TRUE(error);
}

TEST(BufferedParseTest, ObsFoldIsRefusedWithSpaceOrTab) {
  for (const char* head : {"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n 2\r\n\r\n",
                           "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\t2\r\n\r\n"}) {
    auto buffer = bufferWith(head);
    http::request_parser<http::buffer_body> parser;
    error_code error;
    EXPECT_TRUE(parseBuffered(parser, buffer, error));
    EXPECT_EQ(error, http::error::bad_obs_fold) << head;
  }
}

TEST(BufferedParseTest, ObsFoldIsFoundWhenTheHeadArrivesInPieces) {
  // The fold arrives in a piece that does not complete the header: Beast
  // consumes (and unfolds) the finished lines then and asks for more, so the
  // check must look at that put() too, not only at the one that completes it.
  auto buffer = bufferWith("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n evil\r\nY: 2\r\n");
  http::request_parser<http::buffer_body> parser;
  error_code error;
  EXPECT_TRUE(parseBuffered(parser, buffer, error));
  EXPECT_EQ(error, http::error::bad_obs_fold);
}

TEST(BufferedParseTest, AHeadInPiecesWithoutFoldParses) {
  auto buffer = bufferWith("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n");
  http::request_parser<http::buffer_body> parser;
  error_code error;
  EXPECT_FALSE(parseBuffered(parser, buffer, error));  // needs more
  EXPECT_FALSE(error);
  const std::string_view rest = "Y: 2\r\n\r\n";
  const auto space = buffer.prepare(rest.size());
  std::memcpy(space.data(), rest.data(), rest.size());
  buffer.commit(rest.size());
  EXPECT_TRUE(parseBuffered(parser, buffer, error));
  EXPECT_FALSE(error) << error.message();
  EXPECT_TRUE(parser.is_header_done());
}

TEST(BufferedParseTest, SpacesInsideValuesAreNotObsFold) {
  auto buffer = bufferWith("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1 2\t3\r\n\r\n");
  http::request_parser<http::buffer_body> parser;
  error_code error;
  EXPECT_TRUE(parseBuffered(parser, buffer, error));
  EXPECT_FALSE(error) << error.message();
  EXPECT_TRUE(parser.is_header_done());
}

// readSomeParsed against a real socket: what the peer sends, then closes.
class ReadSomeParsedTest : public ::testing::Test {
 protected:
  ReadSomeParsedTest() : acceptor_(io_, {asio::ip::address_v4::loopback(), 0}), peer_(io_) {
    stream_.socket().connect(acceptor_.local_endpoint());
    acceptor_.accept(peer_);
  }

  // Sends `bytes`, closes the peer, and reads the response header with the loop.
  error_code readHeaderAfter(std::string_view bytes,
                             http::response_parser<http::buffer_body>& parser) {
    asio::write(peer_, asio::buffer(bytes));
    peer_.shutdown(asio::ip::tcp::socket::shutdown_send);
    std::optional<error_code> outcome;
    asio::co_spawn(io_, readHeaderParsed(stream_, buffer_, parser),
                   [&](std::exception_ptr, error_code error) { outcome = error; });
    io_.run_for(std::chrono::seconds(5));
    EXPECT_TRUE(outcome.has_value());
    return outcome.value_or(error_code(asio::error::timed_out));
  }

  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  DeadlineStream stream_{io_};
  asio::ip::tcp::socket peer_;
  boost::beast::flat_buffer buffer_;
};

TEST_F(ReadSomeParsedTest, AHeaderArrivingOnTheSocketIsReadAndParsed) {
  http::response_parser<http::buffer_body> parser;
  EXPECT_FALSE(readHeaderAfter("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", parser));
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(parser.get().result_int(), 200u);
}

TEST_F(ReadSomeParsedTest, CloseBeforeAnyByteIsEndOfStream) {
  http::response_parser<http::buffer_body> parser;
  EXPECT_EQ(readHeaderAfter("", parser), http::error::end_of_stream);
}

TEST_F(ReadSomeParsedTest, CloseInsideTheHeaderIsAPartialMessage) {
  http::response_parser<http::buffer_body> parser;
  EXPECT_EQ(readHeaderAfter("HTTP/1.1 200 OK\r\nContent-", parser), http::error::partial_message);
}

TEST_F(ReadSomeParsedTest, ABodyDelimitedByTheCloseEndsCleanly) {
  http::response_parser<http::buffer_body> parser;
  ASSERT_FALSE(readHeaderAfter("HTTP/1.1 200 OK\r\n\r\nuntil-close", parser));
  char body[64];
  parser.get().body().data = body;
  parser.get().body().size = sizeof(body);
  std::optional<error_code> outcome;
  asio::co_spawn(io_, readSomeParsed(stream_, buffer_, parser),
                 [&](std::exception_ptr, error_code error) { outcome = error; });
  io_.restart();
  io_.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(outcome.has_value());
  EXPECT_FALSE(*outcome);
  EXPECT_EQ(std::string(body, sizeof(body) - parser.get().body().size), "until-close");
  if (!parser.is_done()) {
    // The close arrives on the next read and ends the message.
    outcome.reset();
    asio::co_spawn(io_, readSomeParsed(stream_, buffer_, parser),
                   [&](std::exception_ptr, error_code error) { outcome = error; });
    io_.restart();
    io_.run_for(std::chrono::seconds(5));
    ASSERT_TRUE(outcome.has_value());
    EXPECT_FALSE(*outcome);
  }
  EXPECT_TRUE(parser.is_done());
}

}  // namespace
}  // namespace weft::proxy
