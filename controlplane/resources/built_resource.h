#pragma once

#include <google/protobuf/message.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "controlplane/resources/resource_type.h"

namespace weft::controlplane {

// One xDS resource ready to send: serialized once, hashed once, then shared by every proxy
// that receives it (a service's cluster and endpoints are the same bytes for all its clients).
struct BuiltResource {
  std::string name;
  ResourceType type = ResourceType::kCluster;
  // The message serialized deterministically: the value of the google.protobuf.Any sent.
  std::string bytes;
  // First 16 hex digits of SHA-256 over `bytes` (docs/xds-protocol.md §5).
  std::string version;
};

using BuiltResourcePtr = std::shared_ptr<const BuiltResource>;

// Serializes `message` deterministically and hashes it.
BuiltResourcePtr buildResource(ResourceType type, std::string name,
                               const google::protobuf::Message& message);

// First 16 hex digits of SHA-256 of `bytes`.
std::string contentVersion(std::string_view bytes);

// Everything one proxy should have: per type, sorted by name, names unique.
struct ProxyResources {
  std::array<std::vector<BuiltResourcePtr>, kResourceTypeCount> by_type;

  std::vector<BuiltResourcePtr>& of(ResourceType type) {
    return by_type[static_cast<size_t>(type)];
  }
  const std::vector<BuiltResourcePtr>& of(ResourceType type) const {
    return by_type[static_cast<size_t>(type)];
  }
};

}  // namespace weft::controlplane
