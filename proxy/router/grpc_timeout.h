#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/snapshot/snapshot.h"

namespace weft::proxy {

// A grpc-timeout header value (gRPC over HTTP/2 spec: 1 to 8 ASCII digits and
// one unit of H, M, S, m, u or n), rounded up to whole milliseconds so a
// positive timeout never becomes 0 ("none"). Anything else is nullopt.
std::optional<std::chrono::milliseconds> parseGrpcTimeout(std::string_view text);

// A grpc-timeout value for `timeout`: milliseconds while they fit 8 digits,
// otherwise seconds, minutes or hours (rounded down, never below 1).
std::string grpcTimeoutText(std::chrono::milliseconds timeout);

// The grpc-timeout a retry forwards: what `sent` (the value the first attempt forwarded) leaves
// after `elapsed`, rounded up to whole milliseconds and at least 1 ms (a retry sent late still
// says it has no time, never "no deadline"). Nullopt when `sent` is not a valid value.
std::optional<std::string> grpcTimeoutLeft(std::string_view sent,
                                           std::chrono::steady_clock::duration elapsed);

// Whether a content-type names a gRPC message ("application/grpc", "+proto", ...).
bool isGrpcContentType(std::string_view content_type);

// The deadline of one request on `route`: the route timeout, or for a gRPC
// request carrying a valid grpc-timeout on a route with max_grpc_timeout, that
// value minus grpc_timeout_offset, capped at max_grpc_timeout (0: no cap).
struct RequestDeadline {
  std::chrono::milliseconds timeout{0};  // 0: none
  // With a deadline from grpc-timeout: the value to forward (the time left).
  std::optional<std::string> forwarded_grpc_timeout;
  bool malformed_grpc_timeout = false;  // present but invalid: ignored
};

RequestDeadline requestDeadline(const RouteEntry& route, std::string_view content_type,
                                std::optional<std::string_view> grpc_timeout);

}  // namespace weft::proxy
