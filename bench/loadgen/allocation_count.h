#pragma once

#include <cstdint>

namespace weft::loadgen {

// Heap allocations made by the process so far: operator new (replaced in
// allocation_count.cc) and fresh blocks of nghttp2's pool (h2c_connection.cc).
std::uint64_t allocationCount();
void countAllocation();

}  // namespace weft::loadgen
