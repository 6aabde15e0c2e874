#pragma once

#include <cstddef>

namespace weft::controlplane::crd {

// A google.protobuf.FileDescriptorSet of the mesh API's .proto files with their comments
// (protoc --include_source_info), embedded at build time; see CMakeLists.txt. Defined in the
// generated mesh_descriptor_set.cc.
extern const unsigned char kMeshDescriptorSet[];
extern const std::size_t kMeshDescriptorSetSize;

}  // namespace weft::controlplane::crd
