#pragma once

#include <google/protobuf/descriptor.h>

#include <map>
#include <set>
#include <string>

namespace weft::controlplane::crd {

// The comments of the .proto files, which become the descriptions in the CRD schemas.
//
// Generated C++ descriptors carry no comments (protoc leaves source info out of the
// descriptors it compiles in), so the build runs protoc once more with --include_source_info
// and embeds that descriptor set (descriptor_set.h). Comments are looked up by full name: a
// set that lags behind the linked descriptors can lose a comment but never attach one to the
// wrong field.
class ProtoComments {
 public:
  // Reads the embedded descriptor set. Returns an empty string, or why it could not be read.
  std::string load();

  // Whether the embedded set holds the .proto file `file_name` (e.g.
  // "weft/v1/core.proto"). Types from other files would lose their descriptions.
  bool hasFile(const std::string& file_name) const { return files_.count(file_name) != 0; }

  // The leading comment of an element: lines trimmed, lines of a paragraph joined with a
  // space, paragraphs with a newline. Empty when the element has no comment.
  std::string of(const google::protobuf::Descriptor& message) const;
  std::string of(const google::protobuf::FieldDescriptor& field) const;
  std::string of(const google::protobuf::EnumDescriptor& enumeration) const;
  std::string of(const google::protobuf::EnumValueDescriptor& value) const;

 private:
  void addMessage(const google::protobuf::DescriptorProto& message, const std::string& scope,
                  std::vector<int> path, const std::map<std::vector<int>, std::string>& by_path);
  void addEnum(const google::protobuf::EnumDescriptorProto& enumeration, const std::string& scope,
               std::vector<int> path, const std::map<std::vector<int>, std::string>& by_path);
  void add(const std::string& key, const std::vector<int>& path,
           const std::map<std::vector<int>, std::string>& by_path);
  std::string lookup(const std::string& key) const;

  std::set<std::string> files_;
  // Keyed by full name; enum values by their enum's full name, a dot and the value's name
  // (protobuf scopes values beside their enum, where two enums' values could collide).
  std::map<std::string, std::string> comments_;
};

}  // namespace weft::controlplane::crd
