// The allocator OpenSSL uses in the proxy: freed record-sized blocks are handed out again on
// the same thread, up to a bound; other sizes go to malloc; realloc keeps contents whichever
// way a block moves.
#include "proxy/tls/record_buffer_cache.h"

#include <gtest/gtest.h>
#include <openssl/crypto.h>

#include <cstring>
#include <thread>
#include <vector>

namespace weft::proxy {
namespace {

class TlsRecordBufferCacheTest : public ::testing::Test {
 protected:
  // Each test runs in a process of its own (ctest), where nothing has used OpenSSL yet.
  void SetUp() override { ASSERT_TRUE(installTlsRecordBufferCache()); }
};

TEST_F(TlsRecordBufferCacheTest, AFreedRecordBufferIsHandedOutAgain) {
  void* first = OPENSSL_malloc(17 * 1024);
  ASSERT_NE(first, nullptr);
  std::memset(first, 0xab, 17 * 1024);
  const size_t before = cachedRecordBuffersOnThisThread();
  OPENSSL_free(first);
  EXPECT_EQ(cachedRecordBuffersOnThisThread(), before + 1);
  void* second = OPENSSL_malloc(16 * 1024 + 300);  // another record size: the same block
  EXPECT_EQ(second, first);
  EXPECT_EQ(cachedRecordBuffersOnThisThread(), before);
  OPENSSL_free(second);
}

TEST_F(TlsRecordBufferCacheTest, OtherSizesAreNotCached) {
  const size_t before = cachedRecordBuffersOnThisThread();
  for (size_t size : {size_t{64}, size_t{4096}, size_t{64 * 1024}}) {
    void* block = OPENSSL_malloc(size);
    ASSERT_NE(block, nullptr);
    std::memset(block, 1, size);
    OPENSSL_free(block);
  }
  EXPECT_EQ(cachedRecordBuffersOnThisThread(), before);
}

TEST_F(TlsRecordBufferCacheTest, TheCacheHoldsABoundedNumberOfBlocks) {
  std::vector<void*> blocks;
  for (size_t i = 0; i < kCachedRecordBuffers + 5; ++i) {
    blocks.push_back(OPENSSL_malloc(kRecordBufferMinBytes));
  }
  for (void* block : blocks) {
    OPENSSL_free(block);
  }
  EXPECT_EQ(cachedRecordBuffersOnThisThread(), kCachedRecordBuffers);
}

TEST_F(TlsRecordBufferCacheTest, ReallocKeepsTheContentsAcrossSizeClasses) {
  auto* text = static_cast<char*>(OPENSSL_malloc(100));
  ASSERT_NE(text, nullptr);
  std::memcpy(text, "record", 7);
  text = static_cast<char*>(OPENSSL_realloc(text, 17 * 1024));  // into the record class
  ASSERT_NE(text, nullptr);
  EXPECT_STREQ(text, "record");
  void* in_place = OPENSSL_realloc(text, kRecordBufferMaxBytes);  // the block holds it already
  EXPECT_EQ(in_place, text);
  text = static_cast<char*>(OPENSSL_realloc(text, 64 * 1024));  // out of it again
  ASSERT_NE(text, nullptr);
  EXPECT_STREQ(text, "record");
  text = static_cast<char*>(OPENSSL_realloc(text, 200 * 1024));  // plain realloc
  ASSERT_NE(text, nullptr);
  EXPECT_STREQ(text, "record");
  OPENSSL_free(text);
}

TEST_F(TlsRecordBufferCacheTest, EachThreadHasItsOwnCacheAndReturnsItAtExit) {
  size_t cached_on_thread = 0;
  std::thread worker([&] {
    OPENSSL_free(OPENSSL_malloc(kRecordBufferMinBytes));
    cached_on_thread = cachedRecordBuffersOnThisThread();
  });
  worker.join();  // the thread's block goes back to malloc (LeakSanitizer checks it)
  EXPECT_EQ(cached_on_thread, 1u);
}

}  // namespace
}  // namespace weft::proxy
