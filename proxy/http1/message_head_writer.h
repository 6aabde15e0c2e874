#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <charconv>
#include <string>
#include <string_view>

namespace weft::proxy {

// Writes an HTTP/1.x message head (start line, fields, blank line) as one
// contiguous run of bytes, the way it goes on the wire.
//
// Beast's serializer presents a head as a chain of small buffers walked through
// several layers of buffer views; on a relayed request that walk cost more than
// the parsing. One append per field into a buffer the connection keeps is
// cheaper, and the head leaves together with the body in a single write.
template <class Fields>
void appendMessageHead(const boost::beast::http::header<true, Fields>& head, std::string& out) {
  out.append(head.method_string()).push_back(' ');
  out.append(head.target());
  out.append(head.version() >= 11 ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n");
  for (const auto& field : head) {
    out.append(field.name_string()).append(": ").append(field.value()).append("\r\n");
  }
  out.append("\r\n");
}

template <class Fields>
void appendMessageHead(const boost::beast::http::header<false, Fields>& head, std::string& out) {
  out.append(head.version() >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ");
  char status[4];
  const unsigned code = head.result_int();
  status[0] = static_cast<char>('0' + code / 100 % 10);
  status[1] = static_cast<char>('0' + code / 10 % 10);
  status[2] = static_cast<char>('0' + code % 10);
  status[3] = ' ';
  out.append(status, 4).append(head.reason()).append("\r\n");
  for (const auto& field : head) {
    out.append(field.name_string()).append(": ").append(field.value()).append("\r\n");
  }
  out.append("\r\n");
}

// The "<size in hex>\r\n" line that opens a chunk (RFC 9112 section 7.1), in
// `storage`; returns the bytes to send.
inline boost::asio::const_buffer chunkSizeLine(size_t size, char (&storage)[20]) {
  const auto end = std::to_chars(storage, storage + 16, size, 16).ptr;
  end[0] = '\r';
  end[1] = '\n';
  return boost::asio::const_buffer(storage, static_cast<size_t>(end + 2 - storage));
}

}  // namespace weft::proxy
