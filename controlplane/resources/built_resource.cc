#include "controlplane/resources/built_resource.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <openssl/sha.h>

namespace weft::controlplane {

std::string contentVersion(std::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string version(16, '0');
  for (size_t i = 0; i < 8; ++i) {
    version[2 * i] = kHex[digest[i] >> 4];
    version[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return version;
}

BuiltResourcePtr buildResource(ResourceType type, std::string name,
                               const google::protobuf::Message& message) {
  auto resource = std::make_shared<BuiltResource>();
  resource->name = std::move(name);
  resource->type = type;
  {
    // Deterministic: map entries in key order, so equal content gives equal bytes and the
    // same version on every control plane replica.
    google::protobuf::io::StringOutputStream output(&resource->bytes);
    google::protobuf::io::CodedOutputStream coded(&output);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  resource->version = contentVersion(resource->bytes);
  return resource;
}

}  // namespace weft::controlplane
