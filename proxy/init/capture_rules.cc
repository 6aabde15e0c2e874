#include "proxy/init/capture_rules.h"

#include <arpa/inet.h>

#include <charconv>

namespace weft::proxy::init {
namespace {

// The comma-separated items of `text` (none when it is empty); an empty item, as in "80,",
// is kept so that it is refused.
std::vector<std::string_view> splitList(std::string_view text) {
  std::vector<std::string_view> items;
  if (text.empty()) {
    return items;
  }
  for (;;) {
    const size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') {
      item.remove_prefix(1);
    }
    while (!item.empty() && item.back() == ' ') {
      item.remove_suffix(1);
    }
    items.push_back(item);
    if (comma == std::string_view::npos) {
      break;
    }
    text.remove_prefix(comma + 1);
  }
  return items;
}

class ScriptWriter {
 public:
  void line(std::initializer_list<std::string_view> words) {
    bool first = true;
    for (std::string_view word : words) {
      if (!first) {
        out_.push_back(' ');
      }
      out_.append(word);
      first = false;
    }
    out_.push_back('\n');
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

std::string captureRestoreScript(const CaptureOptions& options, IpFamily family) {
  const std::string loopback = family == IpFamily::kIpv4 ? "127.0.0.1/32" : "::1/128";
  const std::string uid = std::to_string(options.proxy_uid);
  const std::string gid = std::to_string(options.proxy_gid);
  const std::string inbound_port = std::to_string(options.inbound_capture_port);
  const std::string outbound_port = std::to_string(options.outbound_capture_port);
  ScriptWriter script;
  script.line({"*nat"});
  for (std::string_view chain :
       {kInboundChain, kInboundRedirectChain, kOutputChain, kOutboundRedirectChain}) {
    script.line({":" + std::string(chain), "-", "[0:0]"});
  }
  const std::string in_redirect(kInboundRedirectChain);
  const std::string out_redirect(kOutboundRedirectChain);
  script.line({"-A", in_redirect, "-p", "tcp", "-j", "REDIRECT", "--to-ports", inbound_port});
  script.line({"-A", out_redirect, "-p", "tcp", "-j", "REDIRECT", "--to-ports", outbound_port});

  if (options.capture_inbound) {
    const std::string chain(kInboundChain);
    std::vector<uint16_t> excluded = {kAdminPort, kStatusPort};
    excluded.insert(excluded.end(), options.exclude_inbound_ports.begin(),
                    options.exclude_inbound_ports.end());
    for (uint16_t port : excluded) {
      script.line({"-A", chain, "-p", "tcp", "--dport", std::to_string(port), "-j", "RETURN"});
    }
    script.line({"-A", chain, "-p", "tcp", "-j", in_redirect});
  }

  if (options.capture_outbound) {
    const std::string chain(kOutputChain);
    // By owner, uid then gid (a proxy may run with either fixed):
    for (const auto& [match, id] :
         {std::pair<std::string_view, const std::string&>{"--uid-owner", uid},
          {"--gid-owner", gid}}) {
      if (options.capture_inbound) {
        // The proxy calling its own pod's address (the app called its own service): the
        // connection leaves on lo, and is the pod's inbound traffic, policies and all.
        script.line({"-A", chain, "-o", "lo", "!", "-d", loopback, "-m", "owner", match, id, "-j",
                     in_redirect});
      }
      // The app talking to itself over lo stays local; the proxy's own connections go out as
      // they are (that is how captured traffic leaves without being captured again).
      script.line({"-A", chain, "-o", "lo", "-m", "owner", "!", match, id, "-j", "RETURN"});
      script.line({"-A", chain, "-m", "owner", match, id, "-j", "RETURN"});
    }
    script.line({"-A", chain, "-d", loopback, "-j", "RETURN"});
    for (const std::string& cidr : options.exclude_outbound_cidrs) {
      if (isIpv6Cidr(cidr) == (family == IpFamily::kIpv6)) {
        script.line({"-A", chain, "-d", cidr, "-j", "RETURN"});
      }
    }
    for (uint16_t port : options.exclude_outbound_ports) {
      script.line({"-A", chain, "-p", "tcp", "--dport", std::to_string(port), "-j", "RETURN"});
    }
    script.line({"-A", chain, "-j", out_redirect});
  }
  script.line({"COMMIT"});
  return script.take();
}

std::vector<JumpRule> captureJumps(const CaptureOptions& options) {
  std::vector<JumpRule> jumps;
  if (options.capture_inbound) {
    jumps.push_back({"PREROUTING", {"-p", "tcp", "-j", std::string(kInboundChain)}});
  }
  if (options.capture_outbound) {
    jumps.push_back({"OUTPUT", {"-p", "tcp", "-j", std::string(kOutputChain)}});
  }
  return jumps;
}

std::optional<std::vector<uint16_t>> parsePortList(std::string_view text, std::string_view flag,
                                                   std::string& error) {
  std::vector<uint16_t> ports;
  for (std::string_view item : splitList(text)) {
    unsigned value = 0;
    const auto [end, failure] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || failure != std::errc() || end != item.data() + item.size() || value == 0 ||
        value > 65535) {
      error = std::string(flag) + ": '" + std::string(item) + "' is not a port (1 to 65535)";
      return std::nullopt;
    }
    ports.push_back(static_cast<uint16_t>(value));
  }
  return ports;
}

std::optional<std::vector<std::string>> parseCidrList(std::string_view text, std::string_view flag,
                                                      std::string& error) {
  std::vector<std::string> networks;
  for (std::string_view item : splitList(text)) {
    const size_t slash = item.find('/');
    const std::string address(item.substr(0, slash));
    unsigned char bytes[16];
    const bool v6 = address.find(':') != std::string::npos;
    const unsigned max_prefix = v6 ? 128 : 32;
    unsigned prefix = max_prefix;
    bool valid =
        !address.empty() && inet_pton(v6 ? AF_INET6 : AF_INET, address.c_str(), bytes) == 1;
    if (valid && slash != std::string_view::npos) {
      const std::string_view digits = item.substr(slash + 1);
      const auto [end, failure] =
          std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
      valid = !digits.empty() && failure == std::errc() && end == digits.data() + digits.size() &&
              prefix <= max_prefix;
    }
    if (!valid) {
      error = std::string(flag) + ": '" + std::string(item) +
              "' is not an address or network (a.b.c.d[/n] or an IPv6 one)";
      return std::nullopt;
    }
    // Canonical text: the host bits cleared, as iptables would store it.
    const unsigned size = v6 ? 16 : 4;
    for (unsigned bit = prefix; bit < size * 8; ++bit) {
      bytes[bit / 8] &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
    }
    char text_out[INET6_ADDRSTRLEN];
    inet_ntop(v6 ? AF_INET6 : AF_INET, bytes, text_out, sizeof(text_out));
    networks.push_back(std::string(text_out) + "/" + std::to_string(prefix));
  }
  return networks;
}

bool isIpv6Cidr(std::string_view cidr) {
  return cidr.find(':') != std::string_view::npos;
}

}  // namespace weft::proxy::init
