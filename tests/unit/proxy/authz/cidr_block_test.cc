#include "proxy/authz/cidr_block.h"

#include <gtest/gtest.h>

namespace weft::proxy::authz {
namespace {

CidrBlock block(std::string_view text) {
  std::string error;
  std::optional<CidrBlock> parsed = CidrBlock::parse(text, error);
  EXPECT_TRUE(parsed.has_value()) << text << ": " << error;
  return parsed.value_or(*CidrBlock::parse("255.255.255.255", error));
}

std::string blockError(std::string_view text) {
  std::string error;
  EXPECT_FALSE(CidrBlock::parse(text, error).has_value()) << text;
  return error;
}

bool contains(std::string_view cidr, const char* address) {
  return block(cidr).contains(IpAddressBytes::from(boost::asio::ip::make_address(address)));
}

TEST(CidrBlockTest, Ipv4Prefixes) {
  EXPECT_TRUE(contains("10.0.0.0/8", "10.255.1.2"));
  EXPECT_FALSE(contains("10.0.0.0/8", "11.0.0.0"));
  EXPECT_TRUE(contains("192.168.4.0/22", "192.168.7.255"));
  EXPECT_FALSE(contains("192.168.4.0/22", "192.168.8.0"));
  EXPECT_FALSE(contains("192.168.4.0/22", "192.168.3.255"));
}

TEST(CidrBlockTest, Ipv4ZeroAndFullLength) {
  EXPECT_TRUE(contains("0.0.0.0/0", "1.2.3.4"));
  EXPECT_TRUE(contains("0.0.0.0/0", "255.255.255.255"));
  EXPECT_FALSE(contains("0.0.0.0/0", "::1"));  // IPv6 peers need an IPv6 block
  EXPECT_TRUE(contains("10.1.2.3/32", "10.1.2.3"));
  EXPECT_FALSE(contains("10.1.2.3/32", "10.1.2.2"));
  EXPECT_FALSE(contains("10.1.2.3/32", "10.1.2.4"));
  EXPECT_TRUE(contains("10.1.2.3", "10.1.2.3"));  // a single address is /32
  EXPECT_FALSE(contains("10.1.2.3", "10.1.2.7"));
}

TEST(CidrBlockTest, Ipv6ZeroAndFullLength) {
  EXPECT_TRUE(contains("::/0", "fd00::1"));
  EXPECT_TRUE(contains("::/0", "2001:db8::1"));
  EXPECT_FALSE(contains("::/0", "10.0.0.1"));
  EXPECT_TRUE(contains("fd00::/8", "fdff:1::2"));
  EXPECT_FALSE(contains("fd00::/8", "fe00::1"));
  EXPECT_TRUE(contains("2001:db8::1/128", "2001:db8::1"));
  EXPECT_FALSE(contains("2001:db8::1/128", "2001:db8::2"));
  EXPECT_TRUE(contains("2001:db8::1", "2001:db8:0:0::1"));  // a single address is /128
  EXPECT_FALSE(contains("2001:db8::1", "2001:db8::"));
  EXPECT_TRUE(contains("2001:db8::/33", "2001:db8:7fff::1"));
  EXPECT_FALSE(contains("2001:db8::/33", "2001:db8:8000::1"));
}

TEST(CidrBlockTest, NonCanonicalBlocksIgnoreBitsPastThePrefix) {
  EXPECT_TRUE(contains("10.1.2.3/8", "10.200.0.1"));
  EXPECT_FALSE(contains("10.1.2.3/8", "11.1.2.3"));
  EXPECT_TRUE(contains("10.1.2.3/0", "99.0.0.1"));
  EXPECT_TRUE(contains("192.168.1.77/28", "192.168.1.64"));
  EXPECT_FALSE(contains("192.168.1.77/28", "192.168.1.80"));
  EXPECT_TRUE(contains("FD00:0:0::ABCD/16", "fd00:ffff::1"));
  EXPECT_TRUE(contains("2001:0db8:0000::/32", "2001:db8::5"));
}

TEST(CidrBlockTest, Ipv4MappedAddressesAreIpv4) {
  // What a dual-stack socket reports for an IPv4 peer.
  EXPECT_TRUE(contains("10.0.0.0/8", "::ffff:10.1.2.3"));
  EXPECT_FALSE(contains("10.0.0.0/8", "::ffff:11.1.2.3"));
  EXPECT_TRUE(contains("::ffff:10.0.0.0/104", "10.9.9.9"));
  EXPECT_TRUE(contains("::ffff:10.1.2.3", "10.1.2.3"));
  EXPECT_TRUE(contains("::ffff:0.0.0.0/96", "1.2.3.4"));
  EXPECT_NE(blockError("::ffff:10.0.0.0/64").find("at least 96"), std::string::npos);
}

TEST(CidrBlockTest, InvalidBlocksAreRefusedWithTheReason) {
  EXPECT_NE(blockError("10.0.0.0/33").find("prefix length 33 is longer than the address"),
            std::string::npos);
  EXPECT_NE(blockError("fd00::/129").find("at most 128"), std::string::npos);
  EXPECT_NE(blockError("10.0.0.256").find("not an IP address"), std::string::npos);
  EXPECT_NE(blockError("10.0.0.0/").find("invalid prefix length"), std::string::npos);
  EXPECT_NE(blockError("10.0.0.0/-1").find("invalid prefix length"), std::string::npos);
  EXPECT_NE(blockError("10.0.0.0/8/8").find("invalid prefix length"), std::string::npos);
  EXPECT_NE(blockError("10.0.0.0/0008").find("invalid prefix length"), std::string::npos);
  EXPECT_NE(blockError("/8").find("not an IP address"), std::string::npos);
  EXPECT_FALSE(blockError("").empty());
  EXPECT_FALSE(blockError("10.0.0").empty());
  EXPECT_FALSE(blockError("010.0.0.1").empty());  // octal or decimal? Neither.
  EXPECT_FALSE(blockError("fe80::1%eth0").empty());
  EXPECT_FALSE(blockError("example.com").empty());
  EXPECT_FALSE(blockError(" 10.0.0.1").empty());
}

}  // namespace
}  // namespace weft::proxy::authz
