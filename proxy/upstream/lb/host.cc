#include "proxy/upstream/lb/host.h"

#include <algorithm>

namespace weft::proxy::lb {
namespace {

std::string formatHashKey(const boost::asio::ip::tcp::endpoint& address) {
  const std::string ip = address.address().to_string();
  if (address.address().is_v6()) {
    return "[" + ip + "]:" + std::to_string(address.port());
  }
  return ip + ":" + std::to_string(address.port());
}

uint8_t edsFlags(EdsHealth health) {
  switch (health) {
    case EdsHealth::kHealthy:
      return 0;
    case EdsHealth::kUnhealthy:
      return static_cast<uint8_t>(HostFlag::kEdsUnhealthy);
    case EdsHealth::kDraining:
      return static_cast<uint8_t>(HostFlag::kEdsDraining);
    case EdsHealth::kDegraded:
      return static_cast<uint8_t>(HostFlag::kEdsDegraded);
  }
  return 0;
}

}  // namespace

Host::Host(const EndpointConfig& config, uint32_t index, uint32_t level, uint32_t priority,
           uint32_t locality)
    : address_(config.address),
      hash_key_(formatHashKey(config.address)),
      weight_(std::clamp<uint32_t>(config.weight, 1, 1'000'000)),
      index_(index),
      level_(level),
      priority_(priority),
      locality_(locality),
      flags_(edsFlags(config.health)) {}

HostHealth Host::health() const {
  constexpr uint8_t kUnhealthy = static_cast<uint8_t>(HostFlag::kEdsUnhealthy) |
                                 static_cast<uint8_t>(HostFlag::kFailedActiveHealthCheck) |
                                 static_cast<uint8_t>(HostFlag::kOutlierEjected);
  constexpr uint8_t kDegraded = static_cast<uint8_t>(HostFlag::kEdsDegraded) |
                                static_cast<uint8_t>(HostFlag::kDegradedActiveHealthCheck);
  if (hasFlag(HostFlag::kEdsDraining)) {
    return HostHealth::kDraining;
  }
  if ((flags_ & kUnhealthy) != 0) {
    return HostHealth::kUnhealthy;
  }
  if ((flags_ & kDegraded) != 0) {
    return HostHealth::kDegraded;
  }
  return HostHealth::kHealthy;
}

}  // namespace weft::proxy::lb
