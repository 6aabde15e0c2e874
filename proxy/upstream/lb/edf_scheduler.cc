#include "proxy/upstream/lb/edf_scheduler.h"

#include <algorithm>

namespace weft::proxy::lb {
namespace {

constexpr uint32_t kGoldenRatio32 = 0x9E3779B9;  // 2^32 / phi

}  // namespace

bool EdfScheduler::later(const Entry& a, const Entry& b) {
  if (a.cycle != b.cycle) {
    return a.cycle > b.cycle;
  }
  // (k_a - f_a) / w_a against (k_b - f_b) / w_b, scaled by 2^32: below 2^63 x 2^31.
  __extension__ using Uint128 = unsigned __int128;
  const Uint128 lhs = static_cast<Uint128>((uint64_t{a.k} << 32) - a.offset) * b.weight;
  const Uint128 rhs = static_cast<Uint128>((uint64_t{b.k} << 32) - b.offset) * a.weight;
  if (lhs != rhs) {
    return lhs > rhs;
  }
  return a.item > b.item;
}

void EdfScheduler::add(uint32_t item, uint64_t weight) {
  if (weight == 0) {
    return;
  }
  const auto w = static_cast<uint32_t>(std::min(weight, kMaxWeight));
  const uint32_t offset = item * kGoldenRatio32;
  // The first deadline after the start time t0 = phase / 2^32: the smallest k with
  // (k - f) / w > t0, i.e. k = floor(w t0 + f) + 1, which may fall in the next cycle.
  const uint64_t k = ((uint64_t{w} * phase_ + offset) >> 32) + 1;
  Entry entry{0, static_cast<uint32_t>(k), w, offset, item};
  if (k > w) {
    entry.cycle = 1;
    entry.k = static_cast<uint32_t>(k - w);
  }
  heap_.push_back(entry);
  std::push_heap(heap_.begin(), heap_.end(), later);
}

uint32_t EdfScheduler::pick() {
  std::pop_heap(heap_.begin(), heap_.end(), later);
  Entry& entry = heap_.back();
  const uint32_t item = entry.item;
  if (entry.k < entry.weight) {
    ++entry.k;
  } else {
    ++entry.cycle;
    entry.k = 1;
  }
  std::push_heap(heap_.begin(), heap_.end(), later);
  return item;
}

}  // namespace weft::proxy::lb
