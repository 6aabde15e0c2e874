#pragma once

#include <cstddef>

namespace weft::proxy {

// OpenSSL allocates a connection's TLS record buffers (about 17 KiB each way) when it reads or
// writes a record and, with SSL_MODE_RELEASE_BUFFERS, frees them as soon as they are empty, so
// that idle connections hold none. With glibc that is a large-chunk malloc and free per record
// (no thread cache serves that size), which a profile of the mTLS sidecar pair put at about
// 3 % of its CPU. These allocation functions keep a few freed record-sized blocks per thread
// and hand them out again: a record costs two pointer moves, idle connections still hold no
// buffers, and the memory kept is bounded (kCachedRecordBuffers blocks per thread).
// Decision 47.
//
// Must run before anything else uses OpenSSL (it replaces the allocator, which OpenSSL allows
// only before its first allocation); false when that was too late, and OpenSSL then keeps its
// default allocator.
bool installTlsRecordBufferCache();

// For tests: OpenSSL allocations of this size range are served from the cache.
inline constexpr size_t kRecordBufferMinBytes = 16 * 1024;
inline constexpr size_t kRecordBufferMaxBytes = 20 * 1024;
inline constexpr size_t kCachedRecordBuffers = 16;

// For tests: blocks held by the calling thread's cache now.
size_t cachedRecordBuffersOnThisThread();

}  // namespace weft::proxy
