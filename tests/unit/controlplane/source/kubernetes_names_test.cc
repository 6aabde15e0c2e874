#include "controlplane/source/kubernetes_names.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace weft::controlplane {
namespace {

using ::testing::HasSubstr;

TEST(KubernetesNamesTest, Subdomains) {
  for (const char* valid : {"a", "reviews", "reviews-v2", "a.b.c", "0abc", "x1.y2"}) {
    EXPECT_EQ(checkDns1123Subdomain(valid), "") << valid;
  }
  for (const char* invalid : {"", "A", "a_b", "-a", "a-", "a..b", ".a", "a.", "a.-b"}) {
    EXPECT_THAT(checkDns1123Subdomain(invalid), HasSubstr("RFC 1123 subdomain")) << invalid;
  }
  EXPECT_EQ(checkDns1123Subdomain(std::string(253, 'a')), "");
  EXPECT_THAT(checkDns1123Subdomain(std::string(254, 'a')), HasSubstr("(254 characters)"));
}

TEST(KubernetesNamesTest, Labels) {
  EXPECT_EQ(checkDns1123Label("shop-1"), "");
  EXPECT_EQ(checkDns1123Label("1shop"), "");
  EXPECT_THAT(checkDns1123Label("a.b"), HasSubstr("RFC 1123 label"));
  EXPECT_THAT(checkDns1123Label(std::string(64, 'a')), HasSubstr("at most 63"));
  EXPECT_EQ(checkDns1035Label("reviews"), "");
  EXPECT_THAT(checkDns1035Label("1reviews"), HasSubstr("starting with a letter"));
}

TEST(KubernetesNamesTest, QualifiedNamesAndLabelValues) {
  for (const char* valid : {"app", "App_1.x", "app.kubernetes.io/name", "example.com/Owner"}) {
    EXPECT_EQ(checkQualifiedName(valid), "") << valid;
  }
  EXPECT_THAT(checkQualifiedName("Example.com/name"), HasSubstr("the prefix before '/'"));
  EXPECT_THAT(checkQualifiedName("example.com/"), HasSubstr("the name after '/'"));
  EXPECT_THAT(checkQualifiedName("a b"), HasSubstr("the name must be"));
  EXPECT_EQ(checkLabelValue(""), "");
  EXPECT_EQ(checkLabelValue("v1.2_beta-3"), "");
  EXPECT_THAT(checkLabelValue("-v1"), HasSubstr("starting and ending with a letter or digit"));
  EXPECT_THAT(checkLabelValue(std::string(64, 'v')), HasSubstr("at most 63"));
}

TEST(KubernetesNamesTest, PortNames) {
  EXPECT_EQ(checkPortName("http"), "");
  EXPECT_EQ(checkPortName("http-web2"), "");
  for (const char* invalid : {"8080", "Http", "http--web", "-http", "a-very-long-port-name"}) {
    EXPECT_THAT(checkPortName(invalid), HasSubstr("not a valid port name")) << invalid;
  }
}

}  // namespace
}  // namespace weft::controlplane
