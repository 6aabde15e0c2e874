#include <gtest/gtest.h>

#include "proxy/listener/protocol_sniffer.h"
#include "proxy/snapshot/snapshot.h"

namespace weft::proxy {
namespace {

using boost::asio::ip::make_address;
using boost::asio::ip::tcp;

TEST(ProtocolSnifferTest, ClassifiesFirstBytes) {
  EXPECT_EQ(classifyFirstBytes(""), Classification::kNeedMore);
  EXPECT_EQ(classifyFirstBytes("G"), Classification::kNeedMore);
  EXPECT_EQ(classifyFirstBytes("GET"), Classification::kNeedMore);
  EXPECT_EQ(classifyFirstBytes("GET /"), Classification::kHttp1);
  EXPECT_EQ(classifyFirstBytes("OPTIONS * HTTP/1.1"), Classification::kHttp1);
  EXPECT_EQ(classifyFirstBytes("PRI * HTTP/2.0\r\n"), Classification::kNeedMore);
  EXPECT_EQ(classifyFirstBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Classification::kHttp2Preface);
  EXPECT_EQ(classifyFirstBytes(std::string_view("\x16\x03\x01\x02\x00", 5)), Classification::kTls);
  EXPECT_EQ(classifyFirstBytes(std::string_view("\x16", 1)), Classification::kNeedMore);
  EXPECT_EQ(classifyFirstBytes(std::string_view("\x16\x00", 2)), Classification::kOpaque);
  EXPECT_EQ(classifyFirstBytes("get / HTTP/1.1"),
            Classification::kOpaque);  // methods are case-sensitive
  EXPECT_EQ(classifyFirstBytes("GETX"), Classification::kOpaque);
  EXPECT_EQ(classifyFirstBytes(std::string_view("\x00\x00\x00\x08", 4)), Classification::kOpaque);
  EXPECT_EQ(classifyFirstBytes("SSH-2.0-OpenSSH"), Classification::kOpaque);
}

TEST(CidrMatchTest, MatchesPrefixesOfTheSameFamily) {
  const CidrMatch ten{make_address("10.0.0.0"), 8};
  EXPECT_TRUE(ten.contains(make_address("10.1.2.3")));
  EXPECT_FALSE(ten.contains(make_address("11.0.0.1")));
  EXPECT_FALSE(ten.contains(make_address("::ffff:10.1.2.3")));
  const CidrMatch odd{make_address("192.168.1.128"), 25};
  EXPECT_TRUE(odd.contains(make_address("192.168.1.200")));
  EXPECT_FALSE(odd.contains(make_address("192.168.1.127")));
  const CidrMatch all_v6{make_address("::"), 0};
  EXPECT_TRUE(all_v6.contains(make_address("fd00::1")));
  const CidrMatch ula{make_address("fd00::"), 8};
  EXPECT_TRUE(ula.contains(make_address("fd12::1")));
  EXPECT_FALSE(ula.contains(make_address("fe80::1")));
}

ConnectionFacts facts(uint16_t port, std::string_view protocol = "",
                      TransportKind transport = TransportKind::kPlaintext,
                      std::string_view sni = "") {
  ConnectionFacts result;
  result.destination = tcp::endpoint(make_address("10.0.0.5"), port);
  result.source = tcp::endpoint(make_address("10.0.0.9"), 40000);
  result.application_protocol = protocol;
  result.transport = transport;
  result.server_name = sni;
  return result;
}

TEST(FilterChainMatchTest, EveryFieldMustFit) {
  FilterChainMatchConfig empty;
  EXPECT_TRUE(empty.matches(facts(80)));

  FilterChainMatchConfig http;
  http.destination_ports = {80, 8080};
  http.application_protocols = {"http/1.1", "h2c"};
  EXPECT_TRUE(http.matches(facts(8080, "http/1.1")));
  EXPECT_FALSE(http.matches(facts(8080, "")));
  EXPECT_FALSE(http.matches(facts(9090, "http/1.1")));

  FilterChainMatchConfig tls;
  tls.transport = TransportKind::kTls;
  tls.server_names = {"reviews.default.svc", ".example.com"};  // "*.example.com"
  EXPECT_TRUE(tls.matches(facts(443, "", TransportKind::kTls, "reviews.default.svc")));
  EXPECT_TRUE(tls.matches(facts(443, "", TransportKind::kTls, "API.Example.com")));
  EXPECT_FALSE(tls.matches(facts(443, "", TransportKind::kTls, "example.com")));
  EXPECT_FALSE(tls.matches(facts(443, "", TransportKind::kTls, "")));
  EXPECT_FALSE(tls.matches(facts(443, "", TransportKind::kPlaintext, "reviews.default.svc")));

  FilterChainMatchConfig sources;
  sources.source_cidrs = {CidrMatch{make_address("10.0.0.0"), 24}};
  sources.destination_cidrs = {CidrMatch{make_address("10.0.0.4"), 31}};
  EXPECT_TRUE(sources.matches(facts(1)));
  sources.destination_cidrs = {CidrMatch{make_address("10.0.0.6"), 31}};
  EXPECT_FALSE(sources.matches(facts(1)));
}

TEST(ListenerConfigTest, FirstFittingChainWins) {
  ListenerConfig listener;
  FilterChainConfig http;
  http.name = "http";
  http.match.application_protocols = {"http/1.1"};
  FilterChainConfig fallback;
  fallback.name = "fallback";
  listener.chains = {http, fallback};
  EXPECT_EQ(listener.selectChain(facts(80, "http/1.1"))->name, "http");
  EXPECT_EQ(listener.selectChain(facts(80, ""))->name, "fallback");
  listener.chains = {http};
  EXPECT_EQ(listener.selectChain(facts(80, "")), nullptr);
  EXPECT_EQ(listener.findChain("http")->name, "http");
  EXPECT_EQ(listener.findChain("nope"), nullptr);
}

}  // namespace
}  // namespace weft::proxy
