#include "proxy/authz/cidr_block.h"

#include <algorithm>
#include <charconv>

namespace weft::proxy::authz {
namespace {

bool isAddressCharacter(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' ||
         c == ':';
}

}  // namespace

IpAddressBytes IpAddressBytes::from(const boost::asio::ip::address& address) {
  IpAddressBytes out;
  if (address.is_v4()) {
    const auto bytes = address.to_v4().to_bytes();
    std::copy(bytes.begin(), bytes.end(), out.bytes.begin());
    return out;
  }
  const boost::asio::ip::address_v6 v6 = address.to_v6();
  const auto bytes = v6.to_bytes();
  if (v6.is_v4_mapped()) {
    std::copy(bytes.begin() + 12, bytes.end(), out.bytes.begin());
    return out;
  }
  out.is_v4 = false;
  std::copy(bytes.begin(), bytes.end(), out.bytes.begin());
  return out;
}

CidrBlock::CidrBlock(const IpAddressBytes& prefix, uint32_t length)
    : prefix_(prefix), length_(length) {
  for (size_t i = 0; i < prefix_.bytes.size(); ++i) {
    const uint32_t bit = static_cast<uint32_t>(i) * 8;
    if (bit >= length_) {
      prefix_.bytes[i] = 0;
    } else if (length_ - bit < 8) {
      prefix_.bytes[i] &= static_cast<uint8_t>(0xFF << (8 - (length_ - bit)));
    }
  }
}

std::optional<CidrBlock> CidrBlock::parse(std::string_view text, std::string& error) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  const size_t slash = text.find('/');
  const std::string_view address_text = text.substr(0, slash);
  if (address_text.empty() ||
      !std::all_of(address_text.begin(), address_text.end(), isAddressCharacter)) {
    error = "not an IP address or CIDR block: " + quoted;
    return std::nullopt;
  }
  boost::system::error_code failure;
  const boost::asio::ip::address address =
      boost::asio::ip::make_address(std::string(address_text), failure);
  if (failure) {
    error = "not an IP address or CIDR block: " + quoted;
    return std::nullopt;
  }
  const bool mapped = address.is_v6() && address.to_v6().is_v4_mapped();
  const uint32_t family_bits = address.is_v4() ? 32 : 128;
  uint32_t length = family_bits;
  if (slash != std::string_view::npos) {
    const std::string_view length_text = text.substr(slash + 1);
    const char* end = length_text.data() + length_text.size();
    const auto [rest, status] = std::from_chars(length_text.data(), end, length);
    if (length_text.empty() || length_text.size() > 3 || status != std::errc() || rest != end) {
      error = "invalid prefix length in " + quoted;
      return std::nullopt;
    }
    if (length > family_bits) {
      error = "prefix length " + std::to_string(length) + " is longer than the address in " +
              quoted + " (at most " + std::to_string(family_bits) + ")";
      return std::nullopt;
    }
  }
  if (mapped && length < 96) {
    // Shorter than the ::ffff:0:0/96 mapping prefix, it would span both families.
    error = "an IPv4-mapped block needs a prefix length of at least 96 in " + quoted +
            " (write the IPv4 block instead)";
    return std::nullopt;
  }
  // IpAddressBytes takes a mapped address as IPv4; its block length follows.
  return CidrBlock(IpAddressBytes::from(address), mapped ? length - 96 : length);
}

bool CidrBlock::contains(const IpAddressBytes& address) const {
  if (address.is_v4 != prefix_.is_v4) {
    return false;
  }
  uint32_t remaining = length_;
  for (size_t i = 0; remaining > 0; ++i) {
    const uint32_t take = std::min<uint32_t>(remaining, 8);
    const auto mask = static_cast<uint8_t>(0xFF << (8 - take));
    if ((address.bytes[i] & mask) != prefix_.bytes[i]) {
      return false;
    }
    remaining -= take;
  }
  return true;
}

}  // namespace weft::proxy::authz
