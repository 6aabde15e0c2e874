#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace weft::loadgen {

// Finds where each HTTP/1.1 response ends in a keep-alive byte stream, without copying or
// allocating: status line, Content-Length or chunked body (trailers skipped). Enough framing
// for a load generator, which only needs status codes and response boundaries.
class ResponseFramer {
 public:
  enum class Result { kNeedMore, kComplete, kError };

  // Consumes a prefix of `data` and says how far it got. The header block must arrive whole in
  // one call (the caller keeps unconsumed bytes and calls again with more appended); bodies
  // may arrive in any pieces. After kComplete, status() and closeAfter() describe the response
  // and the next call starts a new one. Interim (1xx) responses are skipped.
  Result feed(std::string_view data, std::size_t& consumed);

  int status() const { return status_; }
  // The response said "Connection: close" (or was HTTP/1.0 without keep-alive).
  bool closeAfter() const { return close_after_; }

 private:
  enum class State { kHead, kFixedBody, kChunkSize, kChunkData, kChunkDataEnd, kTrailers };

  Result parseHead(std::string_view data, std::size_t& consumed);
  Result complete();

  State state_ = State::kHead;
  int status_ = 0;
  bool close_after_ = false;
  std::uint64_t remaining_ = 0;
};

}  // namespace weft::loadgen
