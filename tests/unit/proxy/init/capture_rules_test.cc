#include "proxy/init/capture_rules.h"

#include <gtest/gtest.h>

#include "proxy/init/command_runner.h"

namespace weft::proxy::init {
namespace {

TEST(CaptureRulesTest, DefaultIpv4Rules) {
  const std::string expected =
      "*nat\n"
      ":WEFT_INBOUND - [0:0]\n"
      ":WEFT_IN_REDIRECT - [0:0]\n"
      ":WEFT_OUTPUT - [0:0]\n"
      ":WEFT_REDIRECT - [0:0]\n"
      "-A WEFT_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006\n"
      "-A WEFT_REDIRECT -p tcp -j REDIRECT --to-ports 15001\n"
      "-A WEFT_INBOUND -p tcp --dport 15000 -j RETURN\n"
      "-A WEFT_INBOUND -p tcp --dport 15020 -j RETURN\n"
      "-A WEFT_INBOUND -p tcp -j WEFT_IN_REDIRECT\n"
      "-A WEFT_OUTPUT -o lo ! -d 127.0.0.1/32 -m owner --uid-owner 1337 -j WEFT_IN_REDIRECT\n"
      "-A WEFT_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN\n"
      "-A WEFT_OUTPUT -m owner --uid-owner 1337 -j RETURN\n"
      "-A WEFT_OUTPUT -o lo ! -d 127.0.0.1/32 -m owner --gid-owner 1337 -j WEFT_IN_REDIRECT\n"
      "-A WEFT_OUTPUT -o lo -m owner ! --gid-owner 1337 -j RETURN\n"
      "-A WEFT_OUTPUT -m owner --gid-owner 1337 -j RETURN\n"
      "-A WEFT_OUTPUT -d 127.0.0.1/32 -j RETURN\n"
      "-A WEFT_OUTPUT -j WEFT_REDIRECT\n"
      "COMMIT\n";
  EXPECT_EQ(captureRestoreScript(CaptureOptions{}, IpFamily::kIpv4), expected);
}

TEST(CaptureRulesTest, ExclusionsGoToTheirFamilyAndDirection) {
  CaptureOptions options;
  options.proxy_uid = 2000;
  options.exclude_inbound_ports = {8081, 9090};
  options.exclude_outbound_ports = {5432};
  options.exclude_outbound_cidrs = {"10.96.0.0/12", "fd00::/8"};
  const std::string v4 = captureRestoreScript(options, IpFamily::kIpv4);
  EXPECT_NE(v4.find("-A WEFT_INBOUND -p tcp --dport 8081 -j RETURN\n"
                    "-A WEFT_INBOUND -p tcp --dport 9090 -j RETURN\n"
                    "-A WEFT_INBOUND -p tcp -j WEFT_IN_REDIRECT\n"),
            std::string::npos)
      << v4;
  EXPECT_NE(v4.find("-A WEFT_OUTPUT -d 127.0.0.1/32 -j RETURN\n"
                    "-A WEFT_OUTPUT -d 10.96.0.0/12 -j RETURN\n"
                    "-A WEFT_OUTPUT -p tcp --dport 5432 -j RETURN\n"
                    "-A WEFT_OUTPUT -j WEFT_REDIRECT\n"),
            std::string::npos)
      << v4;
  EXPECT_NE(v4.find("--uid-owner 2000"), std::string::npos);
  EXPECT_EQ(v4.find("fd00::"), std::string::npos);
  const std::string v6 = captureRestoreScript(options, IpFamily::kIpv6);
  EXPECT_NE(v6.find("-A WEFT_OUTPUT -d ::1/128 -j RETURN\n"
                    "-A WEFT_OUTPUT -d fd00::/8 -j RETURN\n"),
            std::string::npos)
      << v6;
  EXPECT_NE(v6.find("-o lo ! -d ::1/128 -m owner --uid-owner 2000 -j WEFT_IN_REDIRECT"),
            std::string::npos);
  EXPECT_EQ(v6.find("10.96.0.0"), std::string::npos);
}

TEST(CaptureRulesTest, OneDirectionOnly) {
  CaptureOptions options;
  options.capture_inbound = false;
  const std::string outbound_only = captureRestoreScript(options, IpFamily::kIpv4);
  EXPECT_EQ(outbound_only.find("-A WEFT_INBOUND"), std::string::npos);
  // Without inbound capture the proxy's calls to its own pod are not sent to it either.
  EXPECT_EQ(outbound_only.find("-j WEFT_IN_REDIRECT"), std::string::npos);
  ASSERT_EQ(captureJumps(options).size(), 1U);
  EXPECT_EQ(captureJumps(options)[0].chain, "OUTPUT");
  options.capture_inbound = true;
  options.capture_outbound = false;
  EXPECT_EQ(captureRestoreScript(options, IpFamily::kIpv4).find("-A WEFT_OUTPUT"),
            std::string::npos);
  ASSERT_EQ(captureJumps(options).size(), 1U);
  EXPECT_EQ(captureJumps(options)[0].chain, "PREROUTING");
  EXPECT_EQ(captureJumps(options)[0].spec,
            (std::vector<std::string>{"-p", "tcp", "-j", "WEFT_INBOUND"}));
}

TEST(CaptureRulesTest, PortListsAreCheckedItemByItem) {
  std::string error;
  EXPECT_EQ(parsePortList("", "--x", error), std::vector<uint16_t>{});
  EXPECT_EQ(parsePortList("80, 8080,65535", "--x", error),
            (std::vector<uint16_t>{80, 8080, 65535}));
  for (const char* bad : {"0", "65536", "80,", "http", "80,-1", "8080x", " , "}) {
    EXPECT_FALSE(parsePortList(bad, "--exclude-inbound-ports", error)) << bad;
    EXPECT_EQ(error.rfind("--exclude-inbound-ports: '", 0), 0U) << error;
  }
}

TEST(CaptureRulesTest, NetworksAreCanonicalAndChecked) {
  std::string error;
  EXPECT_EQ(parseCidrList("10.1.2.3/8,192.168.0.1,FD00:0::1/16,::1", "--x", error),
            (std::vector<std::string>{"10.0.0.0/8", "192.168.0.1/32", "fd00::/16", "::1/128"}));
  for (const char* bad : {"10.0.0.0/33", "10.0.0/8", "fd00::/129", "10.0.0.0/", "/8", "x",
                          "10.0.0.0/8,", "10.0.0.0/-1"}) {
    EXPECT_FALSE(parseCidrList(bad, "--exclude-outbound-cidrs", error)) << bad;
    EXPECT_EQ(error.rfind("--exclude-outbound-cidrs: '", 0), 0U) << error;
  }
  EXPECT_TRUE(isIpv6Cidr("fd00::/8"));
  EXPECT_FALSE(isIpv6Cidr("10.0.0.0/8"));
}

TEST(CommandRunnerTest, FeedsInputAndCollectsOutputAndStatus) {
  const CommandResult echoed = runCommand({"sh", "-c", "cat; echo err >&2; exit 3"}, "rules\n");
  EXPECT_EQ(echoed.status, 3);
  EXPECT_EQ(echoed.output, "rules\nerr\n");
  // A tool that does not read its input (and exits first) is no problem.
  const CommandResult ignoring = runCommand({"true"}, std::string(256 * 1024, 'x'));
  EXPECT_EQ(ignoring.status, 0);
  const CommandResult missing = runCommand({"weft-no-such-tool"});
  EXPECT_EQ(missing.status, -1);
  EXPECT_NE(missing.output.find("weft-no-such-tool"), std::string::npos);
}

}  // namespace
}  // namespace weft::proxy::init
