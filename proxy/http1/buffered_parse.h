#pragma once

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <string_view>

namespace weft::proxy {

// Reading HTTP/1 messages without Beast's composed read operations.
//
// Beast's http::async_read_some and async_read_header wrap each read in a
// composed operation that holds a work guard of the type-erased executor and,
// when the bytes are already buffered, still posts its completion to the event
// loop. On a keep-alive connection the whole request usually arrives in one
// segment, so most reads need no I/O at all: parsing what is buffered, in place,
// and reading from the socket only when the parser needs more, saves a trip
// through the scheduler per read. The parse rules are Beast's (same parser, same
// errors); only the driving loop is ours.

// Parses what `buffer` holds. Returns true when the parser made progress or
// failed (`error` says which); false when it needs more bytes, or when nothing
// is buffered.
// True when a header line in `head` (raw header bytes) is an obs-fold: a line
// that starts with SP or HTAB and so continues the previous field's value.
inline bool hasObsFold(std::string_view head) {
  for (size_t at = head.find('\n'); at != std::string_view::npos && at + 1 < head.size();
       at = head.find('\n', at + 1)) {
    if (head[at + 1] == ' ' || head[at + 1] == '\t') {
      return true;
    }
  }
  return false;
}

// A message with an obs-fold fails with http::error::bad_obs_fold. RFC 9112
// section 5.2 lets a recipient either reject it or unfold it; Beast unfolds, but
// a folded line is what request smuggling and header injection hide behind, and
// no client has sent one for decades, so the proxy rejects it (400 for a
// request, 502 for a response). Every put() made before the header is complete
// has the bytes it consumed checked: Beast consumes a header line only once it
// has seen the character after it, so a fold and the line it continues are
// always consumed together.
template <bool IsRequest>
bool parseBuffered(boost::beast::http::basic_parser<IsRequest>& parser,
                   boost::beast::flat_buffer& buffer, boost::system::error_code& error) {
  error = {};
  if (buffer.size() == 0) {
    return false;
  }
  const bool header_was_done = parser.is_header_done();
  const size_t used = parser.put(buffer.data(), error);
  if (!header_was_done && (!error || error == boost::beast::http::error::need_more) &&
      hasObsFold(std::string_view(static_cast<const char*>(buffer.data().data()), used))) {
    error = boost::beast::http::error::bad_obs_fold;
  }
  buffer.consume(used);
  if (error == boost::beast::http::error::need_more) {
    error = {};
    return false;
  }
  return true;
}

// How much to read into `buffer` next: what it has room for, at least 4 KiB and
// at most 64 KiB (Beast's own bounds for a parser's read).
inline size_t nextReadSize(const boost::beast::flat_buffer& buffer) {
  return std::clamp<size_t>(buffer.capacity() - buffer.size(), 4096, 65536);
}

// Parses some of a message into `parser`: from `buffer` when it holds enough,
// otherwise after reading from `stream` (with the stream's own deadline). The
// same outcome as http::async_read_some: progress, or an error (need_buffer
// when a buffer_body is full; end_of_stream when the peer closed before a
// message began; partial_message when it closed in the middle of one).
template <class Stream, bool IsRequest>
boost::asio::awaitable<boost::system::error_code> readSomeParsed(
    Stream& stream, boost::beast::flat_buffer& buffer,
    boost::beast::http::basic_parser<IsRequest>& parser) {
  boost::system::error_code error;
  while (!parseBuffered(parser, buffer, error)) {
    auto [read_error, bytes] = co_await stream.async_read_some(
        buffer.prepare(nextReadSize(buffer)), boost::asio::as_tuple(boost::asio::use_awaitable));
    buffer.commit(bytes);
    if (read_error == boost::asio::error::eof) {
      if (!parser.got_some()) {
        co_return boost::beast::http::error::end_of_stream;
      }
      // Ends a message delimited by the close; anything else is partial_message.
      boost::system::error_code eof_error;
      parser.put_eof(eof_error);
      co_return eof_error;
    }
    if (read_error) {
      co_return read_error;
    }
  }
  co_return error;
}

// Reads until the parser has the whole header.
template <class Stream, bool IsRequest>
boost::asio::awaitable<boost::system::error_code> readHeaderParsed(
    Stream& stream, boost::beast::flat_buffer& buffer,
    boost::beast::http::basic_parser<IsRequest>& parser) {
  while (!parser.is_header_done()) {
    const boost::system::error_code error = co_await readSomeParsed(stream, buffer, parser);
    if (error) {
      co_return error;
    }
  }
  co_return boost::system::error_code();
}

}  // namespace weft::proxy
