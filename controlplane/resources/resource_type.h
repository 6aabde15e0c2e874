#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace weft::controlplane {

// The xDS resource types, in the order the control plane pushes them for one change
// (docs/xds-protocol.md §6: secrets, clusters, endpoints, listeners, routes and policies).
enum class ResourceType : uint8_t {
  kSecret,
  kCluster,
  kEndpoints,  // ClusterLoadAssignment
  kListener,
  kRoute,  // RouteConfiguration
  kAuthorization,
};

inline constexpr size_t kResourceTypeCount = 6;

inline constexpr std::array<ResourceType, kResourceTypeCount> kPushOrder = {
    ResourceType::kSecret,   ResourceType::kCluster, ResourceType::kEndpoints,
    ResourceType::kListener, ResourceType::kRoute,   ResourceType::kAuthorization};

inline constexpr std::string_view typeUrl(ResourceType type) {
  switch (type) {
    case ResourceType::kSecret:
      return "type.googleapis.com/weft.v1.Secret";
    case ResourceType::kCluster:
      return "type.googleapis.com/weft.v1.Cluster";
    case ResourceType::kEndpoints:
      return "type.googleapis.com/weft.v1.ClusterLoadAssignment";
    case ResourceType::kListener:
      return "type.googleapis.com/weft.v1.Listener";
    case ResourceType::kRoute:
      return "type.googleapis.com/weft.v1.RouteConfiguration";
    case ResourceType::kAuthorization:
      return "type.googleapis.com/weft.v1.AuthorizationPolicy";
  }
  return "";
}

// Short names for logs, metrics labels and weftctl ("cluster", "endpoints", ...).
inline constexpr std::string_view shortName(ResourceType type) {
  switch (type) {
    case ResourceType::kSecret:
      return "secret";
    case ResourceType::kCluster:
      return "cluster";
    case ResourceType::kEndpoints:
      return "endpoints";
    case ResourceType::kListener:
      return "listener";
    case ResourceType::kRoute:
      return "route";
    case ResourceType::kAuthorization:
      return "authorization";
  }
  return "";
}

inline std::optional<ResourceType> typeFromUrl(std::string_view url) {
  for (ResourceType type : kPushOrder) {
    if (typeUrl(type) == url) {
      return type;
    }
  }
  return std::nullopt;
}

// Wildcard types deliver everything computed for the proxy; the others what it names.
inline constexpr bool isWildcard(ResourceType type) {
  return type == ResourceType::kListener || type == ResourceType::kCluster;
}

}  // namespace weft::controlplane
