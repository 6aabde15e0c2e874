#pragma once

#include <array>
#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace weft::proxy::authz {

// An IP address in the form CIDR blocks compare against. An IPv4-mapped IPv6 address
// ("::ffff:10.1.2.3", what a dual-stack socket reports for an IPv4 peer) is taken as the IPv4
// address, so that "10.0.0.0/8" cannot be avoided by the socket family.
struct IpAddressBytes {
  bool is_v4 = true;
  std::array<uint8_t, 16> bytes{};  // IPv4 in the first 4

  static IpAddressBytes from(const boost::asio::ip::address& address);
};

// An address block from a policy: "10.0.0.0/8", "fd00::/8", or a single address ("10.1.2.3"
// is "10.1.2.3/32"). Bits past the prefix length are ignored ("10.1.2.3/8" is "10.0.0.0/8").
class CidrBlock {
 public:
  // The block `text` means, or nullopt with the reason in `error`.
  static std::optional<CidrBlock> parse(std::string_view text, std::string& error);

  bool contains(const IpAddressBytes& address) const;

 private:
  CidrBlock(const IpAddressBytes& prefix, uint32_t length);

  IpAddressBytes prefix_;  // bits past length_ zeroed
  uint32_t length_;
};

}  // namespace weft::proxy::authz
