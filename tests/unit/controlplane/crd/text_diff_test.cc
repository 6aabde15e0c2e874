#include "controlplane/crd/text_diff.h"

#include <gtest/gtest.h>

namespace weft::controlplane::crd {
namespace {

TEST(TextDiffTest, EqualTextsHaveNoDiff) {
  EXPECT_EQ(unifiedDiff("a", "x\ny\n", "b", "x\ny\n"), "");
}

TEST(TextDiffTest, ShowsChangedLinesWithContext) {
  const std::string before = "1\n2\n3\n4\n5\n6\n7\n8\n9\n";
  const std::string after = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
  EXPECT_EQ(unifiedDiff("old", before, "new", after),
            "--- old\n+++ new\n@@ -3,5 +3,5 @@\n 3\n 4\n-5\n+five\n 6\n 7\n");
}

TEST(TextDiffTest, SeparatesDistantChangesIntoHunks) {
  std::string before;
  for (int i = 0; i < 20; ++i) {
    before += std::to_string(i) + "\n";
  }
  std::string after = before;
  after.replace(after.find("2\n"), 2, "two\n");
  after.replace(after.find("17\n"), 3, "");
  const std::string diff = unifiedDiff("old", before, "new", after);
  EXPECT_NE(diff.find("@@ -1,5 +1,5 @@\n 0\n 1\n-2\n+two\n 3\n 4\n"), std::string::npos) << diff;
  EXPECT_NE(diff.find("@@ -16,5 +16,4 @@\n 15\n 16\n-17\n 18\n 19\n"), std::string::npos) << diff;
}

TEST(TextDiffTest, LimitsTheChangedLinesShown) {
  std::string before;
  std::string after;
  for (int i = 0; i < 100; ++i) {
    before += "a" + std::to_string(i) + "\n";
    after += "b" + std::to_string(i) + "\n";
  }
  const std::string diff = unifiedDiff("old", before, "new", after, 10);
  EXPECT_NE(diff.find("... and 190 more changed lines"), std::string::npos) << diff;
}

TEST(TextDiffTest, NoticesAMissingFinalNewline) {
  EXPECT_NE(unifiedDiff("a", "x\n", "b", "x").find("final newline"), std::string::npos);
}

}  // namespace
}  // namespace weft::controlplane::crd
