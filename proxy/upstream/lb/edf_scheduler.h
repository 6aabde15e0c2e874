#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace weft::proxy::lb {

// Earliest-deadline-first scheduling of weighted items with exact integer arithmetic: the core
// of weighted round robin (over hosts) and of locality selection (over localities).
//
// Item i with weight w owns the deadlines (k - f_i) / w for k = 1, 2, ..., where the offset f_i
// in [0, 1) is i x 0.618... mod 1 (the golden-ratio sequence); pick() returns the item with the
// earliest pending deadline and moves it to its next one.
//
//  - Exact: any half-open time interval of length 1 holds exactly w deadlines of an item, so
//    every cycle of W = sum of weights consecutive picks (counted from reset()) contains exactly
//    w picks of each item. Proportions are exact, not statistical, and never drift: deadlines
//    are compared as fractions by cross-multiplication in 128 bits.
//  - Interleaved: a heavy item's picks are spread evenly through the cycle, and the per-item
//    offsets keep items of equal weight apart instead of firing back to back (with a common
//    offset, 5:1:1 repeats a a a b c a a, a run of five across cycles; here a b a a c a a).
//
// reset() takes a phase, the start time within the first cycle (phase / 2^32): workers start at
// different points of the sequence rather than all sending their first request to the same host
// after every config change. Ties go to the lower item number, so the sequence is a pure function
// of weights and phase.
//
// Cost: pick() O(log n); add() O(log n); no allocation once reserve()d.
class EdfScheduler {
 public:
  static constexpr uint64_t kMaxWeight = (uint64_t{1} << 31) - 1;

  void reserve(size_t items) { heap_.reserve(items); }

  // Removes every item and sets the phase for items added next.
  void reset(uint32_t phase) {
    heap_.clear();
    phase_ = phase;
  }

  // Adds `item` with `weight` (clamped to kMaxWeight); a zero weight is never picked and not
  // stored.
  void add(uint32_t item, uint64_t weight);

  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }

  // The item with the earliest deadline; the scheduler must not be empty.
  uint32_t pick();

 private:
  struct Entry {
    uint64_t cycle;  // whole part of the deadline
    uint32_t k;      // deadline = cycle + (k - offset / 2^32) / weight, 1 <= k <= weight
    uint32_t weight;
    uint32_t offset;
    uint32_t item;
  };

  // Heap order: true when `a` is due after `b` (std::*_heap keep the "largest" on top).
  static bool later(const Entry& a, const Entry& b);

  std::vector<Entry> heap_;
  uint32_t phase_ = 0;
};

}  // namespace weft::proxy::lb
