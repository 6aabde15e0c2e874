#include "proxy/upstream/lb/hash.h"

#include <gtest/gtest.h>

#include <set>

#include "proxy/upstream/lb/random.h"

namespace weft::proxy::lb {
namespace {

// Reference values of XXH64 (seed 0), as published with LLVM's and Envoy's copies of it. They
// cover the short path (< 32 bytes: 8-, 4- and 1-byte tails) and the 32-byte stripe loop.
TEST(XxHash64Test, MatchesReferenceVectors) {
  EXPECT_EQ(xxHash64(""), 0xEF46DB3751D8E999ULL);
  EXPECT_EQ(xxHash64("foo"), 0x33BF00A859C4BA3FULL);
  EXPECT_EQ(xxHash64("bar"), 0x48A37C90AD27A659ULL);
  EXPECT_EQ(xxHash64("foo\nbar"), 8917841378505826757ULL);
  EXPECT_EQ(xxHash64("lyft"), 4400747396090729504ULL);
  EXPECT_EQ(xxHash64("0123456789abcdefghijklmnopqrstuvwxyz"), 0x69196C1B3AF0BFF9ULL);
}

TEST(XxHash64Test, SeedGivesAnIndependentHash) {
  EXPECT_NE(xxHash64("10.0.0.1:8080", 0), xxHash64("10.0.0.1:8080", 1));
  EXPECT_EQ(xxHash64("10.0.0.1:8080", 1), xxHash64("10.0.0.1:8080", 1));
}

TEST(XxHash64Test, EveryLengthAndByteMatters) {
  // Prefixes of one buffer, 0..100 bytes: each length goes through a different mix of stripes
  // and tails, and all must differ.
  const std::string data(100, 'x');
  std::set<uint64_t> seen;
  for (size_t length = 0; length <= data.size(); ++length) {
    seen.insert(xxHash64(std::string_view(data).substr(0, length)));
  }
  EXPECT_EQ(seen.size(), data.size() + 1);

  std::string flipped = data;
  flipped[37] = 'y';
  EXPECT_NE(xxHash64(flipped), xxHash64(data));
}

TEST(HashKeyTest, IsXxHash64WithSeedZero) {
  EXPECT_EQ(hashKey("user-42"), xxHash64("user-42", 0));
  EXPECT_EQ(hashKey("user-42"), hashKey(std::string("user-") + "42"));
}

TEST(Mix64Test, IsABijectionOnSmallInputs) {
  std::set<uint64_t> seen;
  for (uint64_t i = 0; i < 10000; ++i) {
    seen.insert(mix64(i));
  }
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(RandomTest, SameSeedSameSequenceDifferentSeedDifferentSequence) {
  Random a(7);
  Random b(7);
  Random c(8);
  int differences = 0;
  for (int i = 0; i < 100; ++i) {
    const uint64_t value = a.next();
    EXPECT_EQ(value, b.next());
    differences += value != c.next() ? 1 : 0;
  }
  EXPECT_EQ(differences, 100);
}

TEST(RandomTest, BelowIsInRangeAndRoughlyUniform) {
  Random random(1);
  int counts[10] = {};
  for (int i = 0; i < 100000; ++i) {
    const uint64_t value = random.below(10);
    ASSERT_LT(value, 10u);
    ++counts[value];
  }
  for (int count : counts) {
    EXPECT_NEAR(count, 10000, 500);
  }
}

TEST(ScaleToRangeTest, MapsTheFullRangeOntoTheBound) {
  EXPECT_EQ(scaleToRange(0, 100), 0u);
  EXPECT_EQ(scaleToRange(~uint64_t{0}, 100), 99u);
  EXPECT_EQ(scaleToRange(uint64_t{1} << 63, 100), 50u);
}

}  // namespace
}  // namespace weft::proxy::lb
