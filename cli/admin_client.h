#pragma once

#include <chrono>
#include <string>

namespace weft::cli {

// GET http://<address><target> from a proxy's admin endpoint. Returns an empty string and the
// body, or the error in plain words. `address` is "host:port" ("[::1]:15000" for IPv6).
std::string adminGet(const std::string& address, const std::string& target, std::string& body,
                     std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace weft::cli
