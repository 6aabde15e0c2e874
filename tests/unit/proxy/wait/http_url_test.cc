// The URLs `weft-proxy wait` polls: plain HTTP to an address or name, with a port and a path.

#include "proxy/wait/http_url.h"

#include <gtest/gtest.h>

namespace weft::proxy::wait {
namespace {

HttpUrl parsed(std::string_view text) {
  std::string error;
  const std::optional<HttpUrl> url = parseHttpUrl(text, error);
  EXPECT_TRUE(url.has_value()) << text << ": " << error;
  return url.value_or(HttpUrl{});
}

std::string refusal(std::string_view text) {
  std::string error;
  EXPECT_FALSE(parseHttpUrl(text, error).has_value()) << text;
  return error;
}

TEST(HttpUrlTest, TheDefaultStatusUrl) {
  const HttpUrl url = parsed("http://127.0.0.1:15020/healthz/ready");
  EXPECT_EQ(url.host, "127.0.0.1");
  EXPECT_EQ(url.port, 15020);
  EXPECT_EQ(url.target, "/healthz/ready");
  EXPECT_EQ(url.authority, "127.0.0.1:15020");
}

TEST(HttpUrlTest, DefaultsAndOtherForms) {
  HttpUrl url = parsed("http://localhost");
  EXPECT_EQ(url.host, "localhost");
  EXPECT_EQ(url.port, 80);
  EXPECT_EQ(url.target, "/");
  EXPECT_EQ(url.authority, "localhost");
  url = parsed("http://[::1]:15020/ready?verbose=1");
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(url.port, 15020);
  EXPECT_EQ(url.target, "/ready?verbose=1");
  EXPECT_EQ(url.authority, "[::1]:15020");
  url = parsed("http://[fd00::5]?x");
  EXPECT_EQ(url.host, "fd00::5");
  EXPECT_EQ(url.port, 80);
  EXPECT_EQ(url.target, "/?x");
}

TEST(HttpUrlTest, RefusesWhatItCannotPoll) {
  EXPECT_EQ(refusal("https://127.0.0.1:15020/healthz/ready"),
            "the URL must start with http:// (the status port is plain HTTP)");
  EXPECT_EQ(refusal("127.0.0.1:15020"),
            "the URL must start with http:// (the status port is plain HTTP)");
  EXPECT_EQ(refusal("http://:15020/"), "the URL names no host");
  EXPECT_EQ(refusal("http:///ready"), "the URL names no host");
  EXPECT_EQ(refusal("http://127.0.0.1:/"), "the port after ':' is missing");
  EXPECT_EQ(refusal("http://127.0.0.1:0/"), "the port must be a number from 1 to 65535, not '0'");
  EXPECT_EQ(refusal("http://127.0.0.1:65536/"),
            "the port must be a number from 1 to 65535, not '65536'");
  EXPECT_EQ(refusal("http://127.0.0.1:http/"),
            "the port must be a number from 1 to 65535, not 'http'");
  EXPECT_EQ(refusal("http://::1:15020/"), "an IPv6 address goes in brackets: http://[::1]:15020/");
  EXPECT_EQ(refusal("http://[::1/"), "an IPv6 address in brackets lacks its ']'");
  EXPECT_EQ(refusal("http://[::1]x/"), "unexpected text after the IPv6 address");
  EXPECT_EQ(refusal("http://user@127.0.0.1/"), "user information (user@) is not supported");
  EXPECT_EQ(refusal("http://127.0.0.1/ready#top"), "a fragment (#...) is never sent; leave it out");
  EXPECT_EQ(refusal("http://127.0.0.1/a b"), "a URL has no spaces or control characters");
  EXPECT_EQ(refusal("http://127.0.0.1/\r\nX: y"), "a URL has no spaces or control characters");
}

}  // namespace
}  // namespace weft::proxy::wait
