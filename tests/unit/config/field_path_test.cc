#include "common/config/field_path.h"

#include <gtest/gtest.h>

namespace weft::config {
namespace {

TEST(FieldPathTest, BuildsReadablePaths) {
  std::string path = appendField("", "static_resources");
  path = appendIndex(appendField(path, "clusters"), 2);
  path = appendKey(appendField(path, "labels"), "app.kubernetes.io/name");
  EXPECT_EQ(path, "static_resources.clusters[2].labels[\"app.kubernetes.io/name\"]");
}

TEST(FieldPathTest, WalksUpToTheRoot) {
  std::string_view path = "a.b[3].labels[\"x.y[1]\"]";
  path = parentPath(path);
  EXPECT_EQ(path, "a.b[3].labels");
  path = parentPath(path);
  EXPECT_EQ(path, "a.b[3]");
  path = parentPath(path);
  EXPECT_EQ(path, "a.b");
  path = parentPath(path);
  EXPECT_EQ(path, "a");
  path = parentPath(path);
  EXPECT_EQ(path, "");
  EXPECT_EQ(parentPath(""), "");
}

}  // namespace
}  // namespace weft::config
