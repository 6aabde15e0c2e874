#include "proxy/init/init_command.h"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <charconv>
#include <csignal>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "common/app/command_line.h"
#include "proxy/init/capture_rules.h"
#include "proxy/init/command_runner.h"

namespace weft::proxy::init {
namespace {

struct FamilyTools {
  std::string_view name;  // "ipv4", "ipv6"
  std::string iptables;
  std::string restore;
};

FamilyTools toolsFor(IpFamily family) {
  return family == IpFamily::kIpv4 ? FamilyTools{"ipv4", "iptables", "iptables-restore"}
                                   : FamilyTools{"ipv6", "ip6tables", "ip6tables-restore"};
}

// Whether the namespace has an IPv6 address other than loopback (a dual-stack pod).
bool hasIpv6Address() {
  ifaddrs* addresses = nullptr;
  if (getifaddrs(&addresses) != 0) {
    return false;
  }
  bool found = false;
  for (const ifaddrs* entry = addresses; entry != nullptr && !found; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET6) {
      continue;
    }
    const auto* address = reinterpret_cast<const sockaddr_in6*>(entry->ifa_addr);
    found =
        !IN6_IS_ADDR_LOOPBACK(&address->sin6_addr) && !IN6_IS_ADDR_LINKLOCAL(&address->sin6_addr);
  }
  freeifaddrs(addresses);
  return found;
}

std::vector<std::string> natCommand(const FamilyTools& tools, std::string_view action,
                                    const std::string& chain,
                                    const std::vector<std::string>& spec = {}) {
  std::vector<std::string> args = {tools.iptables,      "-w", "5", "-t", "nat",
                                   std::string(action), chain};
  args.insert(args.end(), spec.begin(), spec.end());
  return args;
}

std::string joined(const std::vector<std::string>& words) {
  std::string text;
  for (const std::string& word : words) {
    text.append(text.empty() ? "" : " ").append(word);
  }
  return text;
}

bool fail(const std::vector<std::string>& args, const CommandResult& result) {
  std::cerr << "weft-proxy init: '" << joined(args) << "' failed"
            << (result.status >= 0 ? " (exit " + std::to_string(result.status) + ")" : "") << ": "
            << result.output;
  if (result.output.empty() || result.output.back() != '\n') {
    std::cerr << '\n';
  }
  return false;
}

// A user or group id: 0 to 4294967294 (4294967295 is "no id").
std::optional<uint32_t> parseId(const std::string& text, std::string_view flag,
                                std::string& error) {
  uint32_t value = 0;
  const auto [end, failure] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || failure != std::errc() || end != text.data() + text.size() ||
      value == UINT32_MAX) {
    error = std::string(flag) + ": '" + text + "' is not a user or group id";
    return std::nullopt;
  }
  return value;
}

bool install(const CaptureOptions& options, IpFamily family, bool dry_run) {
  const FamilyTools tools = toolsFor(family);
  const std::string script = captureRestoreScript(options, family);
  std::cout << "# " << tools.name << ": " << tools.restore << " --noflush\n" << script;
  if (!dry_run) {
    const std::vector<std::string> restore = {tools.restore, "--noflush", "-w", "5"};
    if (const CommandResult result = runCommand(restore, script); result.status != 0) {
      return fail(restore, result);
    }
  }
  for (const JumpRule& jump : captureJumps(options)) {
    const auto check = natCommand(tools, "-C", jump.chain, jump.spec);
    if (!dry_run) {
      // -C: 0 the rule is there, 1 it is not; anything else (a lock not released, a missing
      // table) is a failure, not a reason to add the rule a second time.
      const CommandResult checked = runCommand(check);
      if (checked.status == 0) {
        std::cout << "# " << tools.name << ": present: -A " << jump.chain << ' '
                  << joined(jump.spec) << '\n';
        continue;
      }
      if (checked.status != 1) {
        return fail(check, checked);
      }
    }
    const auto add = natCommand(tools, "-A", jump.chain, jump.spec);
    std::cout << joined(add) << '\n';
    if (!dry_run) {
      if (const CommandResult result = runCommand(add); result.status != 0) {
        return fail(add, result);
      }
    }
  }
  return true;
}

bool cleanup(IpFamily family, bool dry_run) {
  const FamilyTools tools = toolsFor(family);
  CaptureOptions every_jump;  // both directions' jumps, whatever was installed
  for (const JumpRule& jump : captureJumps(every_jump)) {
    const auto remove = natCommand(tools, "-D", jump.chain, jump.spec);
    // Added once by init; deleted as often as found, in case another tool added it again.
    for (int round = 0; round < 16; ++round) {
      if (dry_run) {
        std::cout << joined(remove) << '\n';
        break;
      }
      if (runCommand(remove).status != 0) {
        break;
      }
      std::cout << joined(remove) << '\n';
    }
  }
  const std::vector<std::string> chains = {
      std::string(kInboundChain), std::string(kInboundRedirectChain), std::string(kOutputChain),
      std::string(kOutboundRedirectChain)};
  // Flushed first, then deleted: the chains jump to one another.
  for (std::string_view action : {"-F", "-X"}) {
    for (const std::string& chain : chains) {
      const auto command = natCommand(tools, action, chain);
      if (dry_run || runCommand(command).status == 0) {
        std::cout << joined(command) << '\n';
      }
    }
  }
  return true;
}

}  // namespace

int runInitCommand(int argc, char** argv) {
  // Whoever started us may have left SIGCHLD ignored (then the tools' exit statuses could not
  // be read) or SIGPIPE fatal.
  std::signal(SIGCHLD, SIG_DFL);
  std::signal(SIGPIPE, SIG_IGN);
  namespace po = boost::program_options;
  const ProgramInfo program{
      "weft-proxy init",
      "writes the pod's iptables rules that send its TCP traffic through the sidecar",
      "weft-proxy init [options]   (root, or CAP_NET_ADMIN, in the pod's network namespace)"};
  CaptureOptions options;
  std::string proxy_uid = "1337";
  std::string proxy_gid = "1337";
  std::string inbound_port = "15006";
  std::string outbound_port = "15001";
  std::string exclude_inbound;
  std::string exclude_outbound;
  std::string exclude_cidrs;
  std::string ipv6 = "auto";
  bool cleanup_only = false;
  bool dry_run = false;
  bool no_inbound = false;
  bool no_outbound = false;
  po::options_description description("Options");
  // Numbers are read as text and checked here: program_options would wrap "-1" around.
  description.add_options()("proxy-uid", po::value(&proxy_uid)->default_value(proxy_uid),
                            "the proxy's user id: its connections are not captured")(
      "proxy-gid", po::value(&proxy_gid)->default_value(proxy_gid),
      "the proxy's group id: its connections are not captured")(
      "inbound-port", po::value(&inbound_port)->default_value(inbound_port),
      "where inbound TCP is redirected (the inbound listener)")(
      "outbound-port", po::value(&outbound_port)->default_value(outbound_port),
      "where outbound TCP is redirected (the outbound listener)")(
      "exclude-inbound-ports", po::value(&exclude_inbound),
      "comma-separated ports reached directly (15020, status, and 15000, admin, always are)")(
      "exclude-outbound-ports", po::value(&exclude_outbound),
      "comma-separated destination ports the app reaches directly")(
      "exclude-outbound-cidrs", po::value(&exclude_cidrs),
      "comma-separated networks (IPv4 or IPv6) the app reaches directly")(
      "no-inbound", po::bool_switch(&no_inbound), "leave inbound traffic alone")(
      "no-outbound", po::bool_switch(&no_outbound), "leave outbound traffic alone")(
      "ipv6", po::value(&ipv6)->default_value("auto"),
      "on, off, or auto: ip6tables rules too when the pod has an IPv6 address")(
      "cleanup", po::bool_switch(&cleanup_only), "remove the rules instead")(
      "dry-run", po::bool_switch(&dry_run), "print the rules, change nothing");
  po::variables_map values;
  if (auto exit_code = parseCommandLine(argc, argv, program, description, values)) {
    return *exit_code;
  }
  std::string error;
  const auto uid = parseId(proxy_uid, "--proxy-uid", error);
  const auto gid = uid ? parseId(proxy_gid, "--proxy-gid", error) : std::nullopt;
  const auto in_port = gid ? parsePortList(inbound_port, "--inbound-port", error) : std::nullopt;
  const auto out_port =
      in_port ? parsePortList(outbound_port, "--outbound-port", error) : std::nullopt;
  if (out_port && (in_port->size() != 1 || out_port->size() != 1)) {
    error = "--inbound-port and --outbound-port take one port each";
  } else if (out_port && in_port->front() == out_port->front()) {
    error = "--inbound-port and --outbound-port must differ (" + inbound_port + ")";
  } else if (out_port) {
    options.proxy_uid = *uid;
    options.proxy_gid = *gid;
    options.inbound_capture_port = in_port->front();
    options.outbound_capture_port = out_port->front();
  }
  if (!error.empty()) {
    std::cerr << "weft-proxy init: " << error << '\n';
    return 2;
  }
  const auto inbound_ports = parsePortList(exclude_inbound, "--exclude-inbound-ports", error);
  const auto outbound_ports =
      inbound_ports ? parsePortList(exclude_outbound, "--exclude-outbound-ports", error)
                    : std::nullopt;
  const auto cidrs = outbound_ports
                         ? parseCidrList(exclude_cidrs, "--exclude-outbound-cidrs", error)
                         : std::nullopt;
  if (!cidrs) {
    std::cerr << "weft-proxy init: " << error << '\n';
    return 2;
  }
  if (ipv6 != "auto" && ipv6 != "on" && ipv6 != "off") {
    std::cerr << "weft-proxy init: --ipv6 must be on, off or auto, not '" << ipv6 << "'\n";
    return 2;
  }
  options.exclude_inbound_ports = *inbound_ports;
  options.exclude_outbound_ports = *outbound_ports;
  options.exclude_outbound_cidrs = *cidrs;
  options.capture_inbound = !no_inbound;
  options.capture_outbound = !no_outbound;

  std::vector<IpFamily> families = {IpFamily::kIpv4};
  // Cleanup looks in both families unless told not to: rules written with --ipv6 on must go
  // whatever addresses the pod has now.
  if (ipv6 == "on" || (ipv6 == "auto" && (cleanup_only || hasIpv6Address()))) {
    families.push_back(IpFamily::kIpv6);
  }
  for (IpFamily family : families) {
    const bool done = cleanup_only ? cleanup(family, dry_run) : install(options, family, dry_run);
    if (!done) {
      return 1;
    }
  }
  return 0;
}

}  // namespace weft::proxy::init
