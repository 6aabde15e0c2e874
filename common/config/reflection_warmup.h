#pragma once

#include <google/protobuf/descriptor.h>

namespace weft::config {

// Builds, for `root` and every message type reachable from it, the reflection
// state protobuf otherwise makes lazily on first use (descriptors, reflection
// objects, parsed field options). That state lives for the process; making it
// up front, before a config is loaded, keeps it out of the loader's short-lived
// allocations so that their pages can all be returned to the system afterwards.
void warmReflection(const google::protobuf::Descriptor& root);

}  // namespace weft::config
