#include "bench/loadgen/allocation_count.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace weft::loadgen {
namespace {

std::atomic<std::uint64_t> allocations{0};

}  // namespace

std::uint64_t allocationCount() {
  return allocations.load(std::memory_order_relaxed);
}
void countAllocation() {
  allocations.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace weft::loadgen

// Counting replacements of the global allocation functions (this binary only).
void* operator new(std::size_t size) {
  weft::loadgen::countAllocation();
  if (void* p = std::malloc(size == 0 ? 1 : size)) {
    return p;
  }
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  return operator new(size);
}
void* operator new(std::size_t size, std::align_val_t align) {
  weft::loadgen::countAllocation();
  const auto alignment = static_cast<std::size_t>(align);
  if (void* p = std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment)) {
    return p;
  }
  throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t align) {
  return operator new(size, align);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
