#include <algorithm>
#include <array>

#include "proxy/snapshot/snapshot.h"

namespace weft::proxy {

namespace {

size_t addressBytes(const boost::asio::ip::address& address, std::array<unsigned char, 16>& out) {
  if (address.is_v4()) {
    const auto bytes = address.to_v4().to_bytes();
    std::copy(bytes.begin(), bytes.end(), out.begin());
    return bytes.size();
  }
  const auto bytes = address.to_v6().to_bytes();
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return bytes.size();
}

}  // namespace

bool CidrMatch::contains(const boost::asio::ip::address& address) const {
  if (address.is_v4() != prefix.is_v4()) {
    return false;
  }
  std::array<unsigned char, 16> a{};
  std::array<unsigned char, 16> p{};
  const size_t size = addressBytes(address, a);
  addressBytes(prefix, p);
  uint32_t bits = prefix_len;
  for (size_t i = 0; i < size && bits > 0; ++i) {
    const uint32_t take = std::min<uint32_t>(bits, 8);
    const auto mask = static_cast<unsigned char>(0xFF << (8 - take));
    if ((a[i] & mask) != (p[i] & mask)) {
      return false;
    }
    bits -= take;
  }
  return true;
}

bool FilterChainMatchConfig::matches(const ConnectionFacts& facts) const {
  if (!destination_ports.empty() &&
      std::find(destination_ports.begin(), destination_ports.end(), facts.destination.port()) ==
          destination_ports.end()) {
    return false;
  }
  auto any_contains = [](const std::vector<CidrMatch>& cidrs, const boost::asio::ip::address& a) {
    return cidrs.empty() || std::any_of(cidrs.begin(), cidrs.end(),
                                        [&](const CidrMatch& cidr) { return cidr.contains(a); });
  };
  if (!any_contains(destination_cidrs, facts.destination.address()) ||
      !any_contains(source_cidrs, facts.source.address())) {
    return false;
  }
  if (transport != TransportKind::kAny && transport != facts.transport) {
    return false;
  }
  if (!application_protocols.empty() &&
      std::find(application_protocols.begin(), application_protocols.end(),
                facts.application_protocol) == application_protocols.end()) {
    return false;
  }
  if (!server_names.empty()) {
    std::string name(facts.server_name);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const bool fits =
        !name.empty() &&
        std::any_of(server_names.begin(), server_names.end(), [&](const std::string& wanted) {
          return wanted.front() == '.' ? name.size() > wanted.size() && name.ends_with(wanted)
                                       : name == wanted;
        });
    if (!fits) {
      return false;
    }
  }
  return true;
}

}  // namespace weft::proxy
