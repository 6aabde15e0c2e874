#include "proxy/router/path_normalization.h"

#include <gtest/gtest.h>

namespace weft::proxy {
namespace {

using Slashes = PathNormalizationConfig::EscapedSlashes;

// The normalized target, "<unchanged>", or the verdict's name.
std::string normalized(std::string_view target, PathNormalizationConfig config = {}) {
  std::string out = "untouched";
  switch (normalizePath(target, config, out)) {
    case PathVerdict::kUnchanged:
      EXPECT_EQ(out, "untouched");
      return "<unchanged>";
    case PathVerdict::kRewritten:
      return out;
    case PathVerdict::kInvalid:
      return "<invalid>";
    case PathVerdict::kEscapedSlash:
      return "<escaped-slash>";
  }
  return "?";
}

TEST(PathNormalizationTest, NormalPathsAreLeftAlone) {
  EXPECT_EQ(normalized("/"), "<unchanged>");
  EXPECT_EQ(normalized("/a/b.c/d..e/.f?x=/../y"), "<unchanged>");
  EXPECT_EQ(normalized("*"), "<unchanged>");
  EXPECT_EQ(normalized("//a//b"), "<unchanged>");  // merging is off by default
}

TEST(PathNormalizationTest, DotSegmentsNeverClimbAboveTheRoot) {
  EXPECT_EQ(normalized("/a/./b/../c"), "/a/c");
  EXPECT_EQ(normalized("/public/../admin?q=1"), "/admin?q=1");
  EXPECT_EQ(normalized("/../../etc/passwd"), "/etc/passwd");
  EXPECT_EQ(normalized("/a/b/.."), "/a/");
  EXPECT_EQ(normalized("/a/."), "/a/");
  EXPECT_EQ(normalized("/.."), "/");
}

TEST(PathNormalizationTest, EncodedUnreservedCharactersAreDecodedBeforeDotRemoval) {
  EXPECT_EQ(normalized("/%61dmin"), "/admin");
  EXPECT_EQ(normalized("/public/%2E%2e/admin"), "/admin");
  EXPECT_EQ(normalized("/a%7eb%2a"), "/a~b%2A");  // '*' is reserved: kept, hex uppercased
  EXPECT_EQ(normalized("/%41?%61"), "/A?%61");    // the query is not touched
}

TEST(PathNormalizationTest, InvalidEncodingsAreRejected) {
  EXPECT_EQ(normalized("/a%"), "<invalid>");
  EXPECT_EQ(normalized("/a%4"), "<invalid>");
  EXPECT_EQ(normalized("/a%zz"), "<invalid>");
  EXPECT_EQ(normalized("http://host/a"), "<invalid>");
  PathNormalizationConfig lax;
  lax.rfc3986 = false;
  EXPECT_EQ(normalized("/a%zz/../b", lax), "<unchanged>");
}

TEST(PathNormalizationTest, EscapedSlashes) {
  EXPECT_EQ(normalized("/a%2Fb"), "<unchanged>");  // KEEP: an ordinary character
  PathNormalizationConfig reject;
  reject.escaped_slashes = Slashes::kReject;
  EXPECT_EQ(normalized("/a%2fb", reject), "<escaped-slash>");
  EXPECT_EQ(normalized("/a%5Cb", reject), "<escaped-slash>");
  PathNormalizationConfig unescape;
  unescape.escaped_slashes = Slashes::kUnescape;
  EXPECT_EQ(normalized("/a%2Fb", unescape), "/a/b");
  EXPECT_EQ(normalized("/a/%2E%2E%2Fadmin", unescape), "/admin");
}

TEST(PathNormalizationTest, MergeSlashes) {
  PathNormalizationConfig merge;
  merge.merge_slashes = true;
  EXPECT_EQ(normalized("//a///b/", merge), "/a/b/");
  EXPECT_EQ(normalized("/a//../b?x=//", merge), "/a/b?x=//");
}

}  // namespace
}  // namespace weft::proxy
