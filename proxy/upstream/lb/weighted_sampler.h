#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "proxy/upstream/lb/host.h"

namespace weft::proxy::lb {

// Draws an index into a host list with probability proportional to host weight, from one
// uniform 64-bit random value: O(1) when all weights are equal (the common case), else a binary
// search over cumulative weights, O(log n). rebuild() is O(n) and allocation-free once
// reserve()d.
class WeightedSampler {
 public:
  void reserve(size_t hosts) { cumulative_.reserve(hosts); }
  void rebuild(std::span<Host* const> hosts);

  // An index in [0, size of the list given to rebuild()), which must not have been empty.
  size_t sample(uint64_t random) const;

  bool equalWeights() const { return equal_weights_; }

 private:
  std::vector<uint64_t> cumulative_;  // prefix sums of weights; unused when weights are equal
  size_t size_ = 0;
  bool equal_weights_ = true;
};

}  // namespace weft::proxy::lb
