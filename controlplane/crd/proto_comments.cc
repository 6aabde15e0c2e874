#include "controlplane/crd/proto_comments.h"

#include <google/protobuf/descriptor.pb.h>

#include <sstream>

#include "controlplane/crd/descriptor_set.h"

namespace weft::controlplane::crd {
namespace {

using google::protobuf::DescriptorProto;
using google::protobuf::EnumDescriptorProto;

// Field numbers of the descriptor messages, as SourceCodeInfo paths use them
// (google/protobuf/descriptor.proto).
constexpr int kFileMessageType = 4;
constexpr int kFileEnumType = 5;
constexpr int kMessageField = 2;
constexpr int kMessageNestedType = 3;
constexpr int kMessageEnumType = 4;
constexpr int kEnumValue = 2;

std::string trim(const std::string& line) {
  const size_t begin = line.find_first_not_of(" \t");
  if (begin == std::string::npos) {
    return {};
  }
  const size_t end = line.find_last_not_of(" \t");
  return line.substr(begin, end - begin + 1);
}

std::string cleanComment(const std::string& comment) {
  std::istringstream lines(comment);
  std::string line;
  std::string out;
  bool paragraph_break = false;
  while (std::getline(lines, line)) {
    line = trim(line);
    if (line.empty()) {
      paragraph_break = !out.empty();
      continue;
    }
    if (!out.empty()) {
      out += paragraph_break ? "\n" : " ";
    }
    out += line;
    paragraph_break = false;
  }
  return out;
}

}  // namespace

std::string ProtoComments::load() {
  google::protobuf::FileDescriptorSet set;
  if (!set.ParseFromArray(kMeshDescriptorSet, static_cast<int>(kMeshDescriptorSetSize))) {
    return "the embedded descriptor set of the mesh API does not parse";
  }
  for (const auto& file : set.file()) {
    files_.insert(file.name());
    std::map<std::vector<int>, std::string> by_path;
    for (const auto& location : file.source_code_info().location()) {
      if (location.has_leading_comments()) {
        by_path[std::vector<int>(location.path().begin(), location.path().end())] =
            cleanComment(location.leading_comments());
      }
    }
    const std::string scope = file.package().empty() ? "" : file.package() + ".";
    for (int i = 0; i < file.message_type_size(); ++i) {
      addMessage(file.message_type(i), scope, {kFileMessageType, i}, by_path);
    }
    for (int i = 0; i < file.enum_type_size(); ++i) {
      addEnum(file.enum_type(i), scope, {kFileEnumType, i}, by_path);
    }
  }
  return {};
}

void ProtoComments::addMessage(const DescriptorProto& message, const std::string& scope,
                               std::vector<int> path,
                               const std::map<std::vector<int>, std::string>& by_path) {
  const std::string full_name = scope + message.name();
  add(full_name, path, by_path);
  auto child = [&path](int kind, int index) {
    std::vector<int> out = path;
    out.push_back(kind);
    out.push_back(index);
    return out;
  };
  for (int i = 0; i < message.field_size(); ++i) {
    add(full_name + "." + message.field(i).name(), child(kMessageField, i), by_path);
  }
  for (int i = 0; i < message.nested_type_size(); ++i) {
    addMessage(message.nested_type(i), full_name + ".", child(kMessageNestedType, i), by_path);
  }
  for (int i = 0; i < message.enum_type_size(); ++i) {
    addEnum(message.enum_type(i), full_name + ".", child(kMessageEnumType, i), by_path);
  }
}

void ProtoComments::addEnum(const EnumDescriptorProto& enumeration, const std::string& scope,
                            std::vector<int> path,
                            const std::map<std::vector<int>, std::string>& by_path) {
  const std::string full_name = scope + enumeration.name();
  add(full_name, path, by_path);
  for (int i = 0; i < enumeration.value_size(); ++i) {
    std::vector<int> value_path = path;
    value_path.push_back(kEnumValue);
    value_path.push_back(i);
    add(full_name + "." + enumeration.value(i).name(), value_path, by_path);
  }
}

void ProtoComments::add(const std::string& key, const std::vector<int>& path,
                        const std::map<std::vector<int>, std::string>& by_path) {
  const auto it = by_path.find(path);
  if (it != by_path.end() && !it->second.empty()) {
    comments_[key] = it->second;
  }
}

std::string ProtoComments::lookup(const std::string& key) const {
  const auto it = comments_.find(key);
  return it == comments_.end() ? std::string() : it->second;
}

std::string ProtoComments::of(const google::protobuf::Descriptor& message) const {
  return lookup(message.full_name());
}

std::string ProtoComments::of(const google::protobuf::FieldDescriptor& field) const {
  return lookup(field.full_name());
}

std::string ProtoComments::of(const google::protobuf::EnumDescriptor& enumeration) const {
  return lookup(enumeration.full_name());
}

std::string ProtoComments::of(const google::protobuf::EnumValueDescriptor& value) const {
  return lookup(value.type()->full_name() + "." + value.name());
}

}  // namespace weft::controlplane::crd
