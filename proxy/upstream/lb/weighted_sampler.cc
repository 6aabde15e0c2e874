#include "proxy/upstream/lb/weighted_sampler.h"

#include <algorithm>

#include "proxy/upstream/lb/random.h"

namespace weft::proxy::lb {

void WeightedSampler::rebuild(std::span<Host* const> hosts) {
  size_ = hosts.size();
  equal_weights_ = std::all_of(hosts.begin(), hosts.end(), [&](const Host* host) {
    return host->weight() == hosts.front()->weight();
  });
  cumulative_.clear();
  if (equal_weights_) {
    return;
  }
  uint64_t total = 0;
  for (const Host* host : hosts) {
    total += host->weight();
    cumulative_.push_back(total);
  }
}

size_t WeightedSampler::sample(uint64_t random) const {
  if (equal_weights_) {
    return scaleToRange(random, size_);
  }
  const uint64_t point = scaleToRange(random, cumulative_.back());
  return static_cast<size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), point) -
                             cumulative_.begin());
}

}  // namespace weft::proxy::lb
