#include "proxy/tls/record_buffer_cache.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace weft::proxy {

namespace {

// Every block starts with its requested size, which free and realloc need and OpenSSL does
// not pass. 16 bytes keep the payload at malloc's alignment.
struct alignas(16) BlockHeader {
  size_t size;
};
static_assert(sizeof(BlockHeader) == 16);

bool recordSized(size_t size) {
  return size >= kRecordBufferMinBytes && size <= kRecordBufferMaxBytes;
}

BlockHeader* headerOf(void* payload) {
  return reinterpret_cast<BlockHeader*>(static_cast<char*>(payload) - sizeof(BlockHeader));
}

void* payloadOf(void* raw) {
  return static_cast<char*>(raw) + sizeof(BlockHeader);
}

// Trivially destructible, so they stay usable while the thread's other thread_local objects
// are destroyed: OpenSSL frees its per-thread state at thread exit, possibly after
// CacheCloser ran, and those frees must not touch a destroyed object.
thread_local void* t_blocks[kCachedRecordBuffers];
thread_local size_t t_count = 0;
thread_local bool t_closed = false;

// Returns the thread's blocks to malloc when the thread ends (so nothing leaks), and from then
// on lets frees go straight to malloc.
struct CacheCloser {
  ~CacheCloser() {
    for (size_t i = 0; i < t_count; ++i) {
      std::free(t_blocks[i]);
    }
    t_count = 0;
    t_closed = true;
  }
};
thread_local CacheCloser t_closer;

void* allocate(size_t size, const char* /*file*/, int /*line*/) {
  void* raw = nullptr;
  if (recordSized(size)) {
    if (t_count > 0) {
      raw = t_blocks[--t_count];
    } else {
      raw = std::malloc(sizeof(BlockHeader) + kRecordBufferMaxBytes);
    }
  } else {
    raw = std::malloc(sizeof(BlockHeader) + size);
  }
  if (raw == nullptr) {
    return nullptr;
  }
  static_cast<BlockHeader*>(raw)->size = size;
  return payloadOf(raw);
}

void release(void* payload, const char* /*file*/, int /*line*/) {
  if (payload == nullptr) {
    return;
  }
  BlockHeader* header = headerOf(payload);
  if (recordSized(header->size) && !t_closed && t_count < kCachedRecordBuffers) {
    (void)&t_closer;  // constructs it on this thread, so its destructor runs at thread exit
    t_blocks[t_count++] = header;
    return;
  }
  std::free(header);
}

void* reallocate(void* payload, size_t size, const char* file, int line) {
  if (payload == nullptr) {
    return allocate(size, file, line);
  }
  if (size == 0) {
    release(payload, file, line);
    return nullptr;
  }
  BlockHeader* header = headerOf(payload);
  const size_t old_size = header->size;
  if (recordSized(old_size) && recordSized(size)) {
    header->size = size;  // the block holds the largest record size
    return payload;
  }
  if (!recordSized(old_size) && !recordSized(size)) {
    void* raw = std::realloc(header, sizeof(BlockHeader) + size);
    if (raw == nullptr) {
      return nullptr;
    }
    static_cast<BlockHeader*>(raw)->size = size;
    return payloadOf(raw);
  }
  void* moved = allocate(size, file, line);
  if (moved == nullptr) {
    return nullptr;
  }
  std::memcpy(moved, payload, std::min(old_size, size));
  release(payload, file, line);
  return moved;
}

}  // namespace

bool installTlsRecordBufferCache() {
  return CRYPTO_set_mem_functions(&allocate, &reallocate, &release) == 1;
}

size_t cachedRecordBuffersOnThisThread() {
  return t_count;
}

}  // namespace weft::proxy
