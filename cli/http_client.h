#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace weft::cli {

struct HttpResponse {
  unsigned status = 0;
  std::string body;
};

struct HttpGetOptions {
  std::chrono::milliseconds timeout = std::chrono::seconds(5);
  // A larger body is refused rather than buffered: the answer comes from a peer we do not
  // control.
  uint64_t body_limit = 8 * 1024 * 1024;
  // Errors name the peer: "cannot connect to <peer> <address>" ("the admin endpoint").
  std::string peer;
  // Appended to "cannot connect" errors: what the user may have got wrong.
  std::string connect_hint;
};

// GET http://<address><target>, plaintext HTTP/1.1. Returns an empty string and the response
// (whatever its status), or the error in plain words. `address` is "host:port" ("[::1]:15000"
// for IPv6).
std::string httpGet(const std::string& address, const std::string& target, HttpResponse& response,
                    const HttpGetOptions& options = {});

}  // namespace weft::cli
