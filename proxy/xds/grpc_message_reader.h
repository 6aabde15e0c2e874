#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace weft::proxy::xds {

// gRPC's message framing on an HTTP/2 stream (PROTOCOL-HTTP2.md, "Length-Prefixed-Message"):
// a 1-byte compressed flag, a 4-byte big-endian length, then the message. DATA frames cut
// messages anywhere, so bytes are fed as they arrive and whole messages come out.
//
// Bounded: a message longer than `max_message_bytes` is an error as soon as its prefix is
// read, so a hostile or broken peer cannot make the reader buffer more than that.
class GrpcMessageReader {
 public:
  explicit GrpcMessageReader(size_t max_message_bytes) : max_message_bytes_(max_message_bytes) {}

  // Consumes `bytes`; each message completed is appended to `messages`. Returns an empty
  // string, or why the stream cannot be read further (then the reader stays failed).
  std::string feed(std::string_view bytes, std::vector<std::string>& messages);

  // Whether a message has been started but not finished (a stream that ends here was cut).
  bool midMessage() const { return have_prefix_ > 0 || in_message_; }

 private:
  size_t max_message_bytes_;
  uint8_t prefix_[5] = {};
  size_t have_prefix_ = 0;
  // Length of the message being read, once its prefix is complete.
  size_t expected_ = 0;
  bool in_message_ = false;
  std::string message_;
  std::string error_;
};

// The 5-byte prefix and `message`, ready to go into DATA frames (never compressed).
std::string frameGrpcMessage(std::string_view message);

}  // namespace weft::proxy::xds
