#include "proxy/router/grpc_timeout.h"

#include <algorithm>
#include <cstdint>

namespace weft::proxy {

std::optional<std::chrono::milliseconds> parseGrpcTimeout(std::string_view text) {
  if (text.size() < 2 || text.size() > 9) {
    return std::nullopt;
  }
  uint64_t value = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  // At most 8 digits: even hours in milliseconds fit in 64 bits with room.
  switch (text.back()) {
    case 'H':
      return std::chrono::milliseconds(static_cast<int64_t>(value * 3'600'000));
    case 'M':
      return std::chrono::milliseconds(static_cast<int64_t>(value * 60'000));
    case 'S':
      return std::chrono::milliseconds(static_cast<int64_t>(value * 1'000));
    case 'm':
      return std::chrono::milliseconds(static_cast<int64_t>(value));
    case 'u':
      return std::chrono::milliseconds(static_cast<int64_t>((value + 999) / 1'000));
    case 'n':
      return std::chrono::milliseconds(static_cast<int64_t>((value + 999'999) / 1'000'000));
    default:
      return std::nullopt;
  }
}

std::string grpcTimeoutText(std::chrono::milliseconds timeout) {
  constexpr int64_t kMaxValue = 99'999'999;
  const int64_t ms = std::max<int64_t>(timeout.count(), 0);
  if (ms <= kMaxValue) {
    return std::to_string(ms) + "m";
  }
  if (ms / 1000 <= kMaxValue) {
    return std::to_string(ms / 1000) + "S";
  }
  if (ms / 60'000 <= kMaxValue) {
    return std::to_string(ms / 60'000) + "M";
  }
  return std::to_string(std::min<int64_t>(ms / 3'600'000, kMaxValue)) + "H";
}

std::optional<std::string> grpcTimeoutLeft(std::string_view sent,
                                           std::chrono::steady_clock::duration elapsed) {
  const std::optional<std::chrono::milliseconds> timeout = parseGrpcTimeout(sent);
  if (!timeout) {
    return std::nullopt;
  }
  // In milliseconds: the largest valid value (99999999 hours) overflows nanoseconds.
  const auto left = *timeout - std::chrono::floor<std::chrono::milliseconds>(elapsed);
  return grpcTimeoutText(std::max(left, std::chrono::milliseconds(1)));
}

bool isGrpcContentType(std::string_view content_type) {
  constexpr std::string_view kGrpc = "application/grpc";
  if (content_type.size() < kGrpc.size()) {
    return false;
  }
  for (size_t i = 0; i < kGrpc.size(); ++i) {
    const char c = content_type[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != kGrpc[i]) {
      return false;
    }
  }
  return content_type.size() == kGrpc.size() || content_type[kGrpc.size()] == '+' ||
         content_type[kGrpc.size()] == ';';
}

RequestDeadline requestDeadline(const RouteEntry& route, std::string_view content_type,
                                std::optional<std::string_view> grpc_timeout) {
  RequestDeadline deadline;
  deadline.timeout = route.timeout;
  if (!route.max_grpc_timeout || !grpc_timeout || !isGrpcContentType(content_type)) {
    return deadline;
  }
  const std::optional<std::chrono::milliseconds> asked = parseGrpcTimeout(*grpc_timeout);
  if (!asked) {
    deadline.malformed_grpc_timeout = true;
    return deadline;
  }
  // At least 1 ms: the client asked for a deadline, and 0 would mean none.
  std::chrono::milliseconds timeout =
      std::max(*asked - route.grpc_timeout_offset, std::chrono::milliseconds(1));
  if (route.max_grpc_timeout->count() > 0) {
    timeout = std::min(timeout, *route.max_grpc_timeout);
  }
  deadline.timeout = timeout;
  deadline.forwarded_grpc_timeout = grpcTimeoutText(timeout);
  return deadline;
}

}  // namespace weft::proxy
