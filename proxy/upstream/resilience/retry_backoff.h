#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace weft::proxy {

// The wait before retry number `retry` (1 for the first retry): "full jitter",
// uniform in [0, min(max, base * 2^(retry-1))], so that clients failing at the
// same moment do not come back together. `random` is a uniform 64-bit value.
std::chrono::milliseconds retryBackoff(uint32_t retry, std::chrono::milliseconds base,
                                       std::chrono::milliseconds max, uint64_t random);

// How long a reset header asks the client to wait, from `now_unix_seconds`:
// a Retry-After value in delay-seconds ("120", fractions allowed) or as an
// HTTP date (RFC 9110 section 10.2.3, IMF-fixdate), or with `unix_timestamp`
// a Unix time in seconds. A time in the past waits 0. Nullopt when the value
// is none of these.
std::optional<std::chrono::milliseconds> resetHeaderWait(std::string_view value,
                                                         bool unix_timestamp,
                                                         int64_t now_unix_seconds);

}  // namespace weft::proxy
