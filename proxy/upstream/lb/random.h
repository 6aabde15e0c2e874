#pragma once

#include <cstdint>

#include "proxy/upstream/lb/hash.h"

namespace weft::proxy::lb {

// floor(value * bound / 2^64): maps a uniform 64-bit value onto [0, bound) with one multiply
// (Lemire). The bias, at most bound / 2^64, is far below anything a load balancer could notice.
inline uint64_t scaleToRange(uint64_t value, uint64_t bound) {
  __extension__ using Uint128 = unsigned __int128;
  return static_cast<uint64_t>((static_cast<Uint128>(value) * bound) >> 64);
}

// xoshiro256** (Blackman and Vigna): a small, fast PRNG with good statistical quality; not
// cryptographic. Every worker's load balancer owns one, so picks take no lock, and a fixed seed
// makes a test's sequence of picks exact.
class Random {
 public:
  // The seed is expanded with splitmix64, so nearby seeds (worker 0, 1, 2, ...) give unrelated
  // streams.
  explicit Random(uint64_t seed) {
    for (uint64_t& word : state_) {
      seed += 0x9E3779B97F4A7C15ULL;
      word = mix64(seed);
    }
  }

  uint64_t next() {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t shifted = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= shifted;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, bound); bound must be positive.
  uint64_t below(uint64_t bound) { return scaleToRange(next(), bound); }

 private:
  static constexpr uint64_t rotl(uint64_t value, int bits) {
    return (value << bits) | (value >> (64 - bits));
  }

  uint64_t state_[4] = {};
};

}  // namespace weft::proxy::lb
