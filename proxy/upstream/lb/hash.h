#pragma once

#include <cstdint>
#include <string_view>

namespace weft::proxy::lb {

// xxHash64 (Yann Collet's XXH64, the variant Envoy and the API's RingHashConfig name): fast,
// well-distributed and stable across platforms and releases, so a key maps to the same host on
// every proxy and after every restart. Not a cryptographic hash: a client that chooses its own
// keys can aim them at one host, which consistent hashing cannot prevent anyway. O(length).
uint64_t xxHash64(std::string_view data, uint64_t seed = 0);

// The hash a router puts in LbContext::hash for an affinity key (a header value, a cookie, the
// source IP): xxHash64 with seed 0. Ring hash and Maglev place hosts with the same function, so
// the whole mapping is reproducible from the key and the endpoint addresses.
inline uint64_t hashKey(std::string_view key) {
  return xxHash64(key);
}

// A bijective 64-bit finalizer (splitmix64's). Derives an independent value from a hash that has
// already been used for something else, e.g. the priority choice from the key's ring position.
constexpr uint64_t mix64(uint64_t value) {
  value ^= value >> 30;
  value *= 0xBF58476D1CE4E5B9ULL;
  value ^= value >> 27;
  value *= 0x94D049BB133111EBULL;
  value ^= value >> 31;
  return value;
}

}  // namespace weft::proxy::lb
