#include "common/config/yaml_to_proto.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/time_util.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <type_traits>
#include <unordered_map>

#include "common/config/duration_text.h"
#include "common/config/field_path.h"
#include "common/config/proto_validator.h"
#include "common/text/base64.h"

namespace weft::config {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

struct Position {
  int line = 0;
  int column = 0;
};

Position positionOf(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) {
    return {};
  }
  return {mark.line + 1, mark.column + 1};
}

// Plain (unquoted) YAML scalars get the "?" tag; quoted ones "!".
bool isPlainScalar(const YAML::Node& node) {
  return node.Tag() == "?";
}

std::string_view nodeKind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The closest field name, when it is close enough to be a likely typo.
std::string suggestField(const Descriptor& descriptor, std::string_view key) {
  std::string best;
  if (key.size() > 64) {
    return best;  // No field name is that long; spare the quadratic comparison.
  }
  size_t best_distance = std::max<size_t>(2, key.size() / 3) + 1;
  for (int i = 0; i < descriptor.field_count(); ++i) {
    const FieldDescriptor* field = descriptor.field(i);
    for (const std::string& name : {field->name(), field->json_name()}) {
      const size_t distance = editDistance(key, name);
      if (distance < best_distance) {
        best_distance = distance;
        best = field->name();
      }
    }
  }
  return best;
}

const FieldDescriptor* findField(const Descriptor& descriptor, std::string_view key) {
  if (const FieldDescriptor* field = descriptor.FindFieldByName(std::string(key))) {
    return field;
  }
  for (int i = 0; i < descriptor.field_count(); ++i) {
    if (descriptor.field(i)->json_name() == key) {
      return descriptor.field(i);
    }
  }
  return nullptr;
}

template <typename T>
std::string parseInteger(const std::string& text, T& out) {
  if constexpr (std::is_unsigned_v<T>) {
    if (!text.empty() && text.front() == '-') {
      return "value " + text + " must not be negative";
    }
  }
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  if (begin != end && *begin == '+') {
    ++begin;
  }
  auto [ptr, ec] = std::from_chars(begin, end, out);
  if (ec == std::errc::result_out_of_range) {
    return "value " + text + " is out of range (" + std::to_string(std::numeric_limits<T>::min()) +
           ".." + std::to_string(std::numeric_limits<T>::max()) + ")";
  }
  if (ec != std::errc() || ptr != end || begin == end) {
    return "expected an integer, got \"" + text + "\"";
  }
  return {};
}

template <typename T>
using ReflectionSetter = void (Reflection::*)(Message*, const FieldDescriptor*, T) const;

// Parses an integer field's text and sets it (or, for a repeated field, appends it).
template <typename T>
std::string storeInteger(const std::string& text, Message& message, const FieldDescriptor& field,
                         bool repeated, ReflectionSetter<T> set, ReflectionSetter<T> add) {
  T value{};
  std::string problem = parseInteger(text, value);
  if (problem.empty()) {
    (message.GetReflection()->*(repeated ? add : set))(&message, &field, value);
  }
  return problem;
}

std::string parseFloating(const std::string& text, double& out) {
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  if (begin != end && *begin == '+') {
    ++begin;
  }
  auto [ptr, ec] = std::from_chars(begin, end, out);
  if (ec == std::errc::result_out_of_range) {
    return "value " + text + " is out of range for a double";
  }
  if (ec != std::errc() || ptr != end || begin == end || !std::isfinite(out)) {
    return "expected a finite number, got \"" + text + "\"";
  }
  return {};
}

std::string parseBool(const std::string& text, bool& out) {
  if (text == "true" || text == "True" || text == "TRUE") {
    out = true;
    return {};
  }
  if (text == "false" || text == "False" || text == "FALSE") {
    out = false;
    return {};
  }
  return "expected true or false, got \"" + text + "\"";
}

std::string decodeBase64(const std::string& text, std::string& out) {
  std::optional<std::string> decoded = text::decodeBase64(text);
  if (!decoded) {
    return "invalid base64 in bytes field";
  }
  out = std::move(*decoded);
  return {};
}

class YamlToProto {
 public:
  YamlToProto(std::string_view source, const YamlLimits& limits)
      : source_(source), limits_(limits) {}

  // `path` is empty for a whole document, else the place of `root` in its document.
  void parseRoot(const YAML::Node& root, Message& out, const std::string& path) {
    if (!root.IsMap()) {
      addError(root, path,
               (path.empty() ? "the document must be a map of fields, found "
                             : "expected a map of fields, found ") +
                   std::string(nodeKind(root)));
      return;
    }
    parseMessage(root, out, path, 0);
  }

  bool hasErrors() const { return !errors_.empty(); }

  // Gives validator findings the position of the closest field that has one.
  void addPositioned(ConfigError error) {
    std::string_view path = error.field_path;
    while (true) {
      auto it = positions_.find(std::string(path));
      if (it != positions_.end()) {
        error.line = it->second.line;
        error.column = it->second.column;
        break;
      }
      if (path.empty()) {
        break;
      }
      path = parentPath(path);
    }
    error.source = source_;
    pushError(std::move(error));
  }

  ConfigErrors takeErrors() { return std::move(errors_); }

 private:
  void pushError(ConfigError error) {
    if (errors_.size() < kMaxReportedErrors) {
      errors_.push_back(std::move(error));
    }
  }

  void addError(const YAML::Node& node, const std::string& path, std::string reason) {
    const Position position = positionOf(node);
    pushError(
        ConfigError{std::string(source_), path, position.line, position.column, std::move(reason)});
  }

  // Counts the node against the limits and records where the field is written.
  bool enter(const YAML::Node& node, const std::string& path, int depth) {
    if (budget_exhausted_) {
      return false;
    }
    if (++nodes_visited_ > limits_.max_nodes) {
      budget_exhausted_ = true;
      addError(node, path,
               "document too large: more than " + std::to_string(limits_.max_nodes) +
                   " nodes (after expanding aliases)");
      return false;
    }
    if (depth > limits_.max_depth) {
      addError(node, path, "nesting deeper than " + std::to_string(limits_.max_depth) + " levels");
      return false;
    }
    if (positions_.try_emplace(path, positionOf(node)).second) {
      path_bytes_ += path.size();
      if (path_bytes_ > limits_.max_path_bytes) {
        budget_exhausted_ = true;
        addError(node, "",
                 "document too large: its field paths exceed " +
                     std::to_string(limits_.max_path_bytes) + " bytes");
        return false;
      }
    }
    return true;
  }

  // Checks a field name or map key: counted against the node budget (an alias
  // can repeat a key cheaply) and bounded in length.
  bool acceptKey(const YAML::Node& key, const std::string& path, int depth) {
    if (errors_.size() >= kMaxReportedErrors || !enter(key, path, depth)) {
      return false;
    }
    if (key.IsScalar() && key.Scalar().size() > limits_.max_key_bytes) {
      addError(key, path,
               "key of " + std::to_string(key.Scalar().size()) +
                   " bytes is longer than the limit of " + std::to_string(limits_.max_key_bytes));
      return false;
    }
    return true;
  }

  void parseMessage(const YAML::Node& node, Message& message, const std::string& path, int depth) {
    if (!enter(node, path, depth)) {
      return;
    }
    if (parseWellKnownType(node, message, path, depth)) {
      return;
    }
    if (!node.IsMap()) {
      addError(node, path,
               "expected a map for " + message.GetDescriptor()->full_name() + ", found " +
                   std::string(nodeKind(node)));
      return;
    }
    parseFields(node, message, path, depth, /*skip_key=*/"");
  }

  // Fills `message` from the entries of a YAML map, leaving out `skip_key` (the
  // "@type" of an Any, which names the type rather than a field).
  void parseFields(const YAML::Node& node, Message& message, const std::string& path, int depth,
                   std::string_view skip_key) {
    const Descriptor& descriptor = *message.GetDescriptor();
    std::set<int> seen_fields;
    std::map<const google::protobuf::OneofDescriptor*, const FieldDescriptor*> oneof_members;
    for (auto it = node.begin(); it != node.end(); ++it) {
      // Copies, not references: yaml-cpp's iterator hands out a temporary pair.
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!acceptKey(key, path, depth + 1)) {
        if (budget_exhausted_ || errors_.size() >= kMaxReportedErrors) {
          return;
        }
        continue;
      }
      if (!key.IsScalar()) {
        addError(key, path,
                 "field names must be plain strings, found " + std::string(nodeKind(key)));
        continue;
      }
      const std::string& name = key.Scalar();
      if (!skip_key.empty() && name == skip_key) {
        continue;
      }
      const FieldDescriptor* field = findField(descriptor, name);
      if (field == nullptr) {
        std::string reason = "unknown field '" + name + "' in " + descriptor.full_name();
        const std::string suggestion = suggestField(descriptor, name);
        if (!suggestion.empty()) {
          reason += " (did you mean '" + suggestion + "'?)";
        }
        addError(key, path, std::move(reason));
        continue;
      }
      const std::string field_path = appendField(path, field->name());
      if (!seen_fields.insert(field->number()).second) {
        addError(key, field_path, "field is given more than once");
        continue;
      }
      if (const auto* oneof = field->real_containing_oneof()) {
        auto [entry, inserted] = oneof_members.try_emplace(oneof, field);
        if (!inserted) {
          addError(key, field_path,
                   "only one of the '" + oneof->name() + "' fields may be set, but '" +
                       entry->second->name() + "' is set too");
          continue;
        }
      }
      if (value.IsNull() && !acceptsNull(*field)) {
        addError(key, field_path, "has no value (give one, or remove the key)");
        continue;
      }
      parseField(value, message, *field, field_path, depth + 1);
    }
  }

  static bool acceptsNull(const FieldDescriptor& field) {
    return field.message_type() != nullptr &&
           field.message_type()->full_name() == "google.protobuf.Value";
  }

  void parseField(const YAML::Node& node, Message& message, const FieldDescriptor& field,
                  const std::string& path, int depth) {
    if (field.is_map()) {
      parseMap(node, message, field, path, depth);
      return;
    }
    if (field.is_repeated()) {
      if (!enter(node, path, depth)) {
        return;
      }
      if (!node.IsSequence()) {
        addError(node, path, "expected a list, found " + std::string(nodeKind(node)));
        return;
      }
      size_t index = 0;
      for (const YAML::Node& element : node) {
        const std::string element_path = appendIndex(path, index++);
        if (element.IsNull() && !acceptsNull(field)) {
          addError(element, element_path, "list entry has no value");
          continue;
        }
        parseValue(element, message, field, element_path, depth + 1, /*repeated=*/true);
      }
      return;
    }
    parseValue(node, message, field, path, depth, /*repeated=*/false);
  }

  void parseMap(const YAML::Node& node, Message& message, const FieldDescriptor& field,
                const std::string& path, int depth) {
    if (!enter(node, path, depth)) {
      return;
    }
    if (!node.IsMap()) {
      addError(node, path, "expected a map, found " + std::string(nodeKind(node)));
      return;
    }
    const Reflection& reflection = *message.GetReflection();
    const FieldDescriptor& key_field = *field.message_type()->map_key();
    const FieldDescriptor& value_field = *field.message_type()->map_value();
    std::set<std::string> seen_keys;
    for (auto it = node.begin(); it != node.end(); ++it) {
      // Copies, not references: yaml-cpp's iterator hands out a temporary pair.
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!acceptKey(key, path, depth + 1)) {
        if (budget_exhausted_ || errors_.size() >= kMaxReportedErrors) {
          return;
        }
        continue;
      }
      if (!key.IsScalar()) {
        addError(key, path, "map keys must be scalars, found " + std::string(nodeKind(key)));
        continue;
      }
      const std::string entry_path = appendKey(path, key.Scalar());
      if (!seen_keys.insert(key.Scalar()).second) {
        addError(key, entry_path, "map key is given more than once");
        continue;
      }
      if (value.IsNull() && !acceptsNull(value_field)) {
        addError(key, entry_path, "has no value (give one, or remove the key)");
        continue;
      }
      Message* entry = reflection.AddMessage(&message, &field);
      parseValue(key, *entry, key_field, entry_path, depth + 1, /*repeated=*/false);
      parseValue(value, *entry, value_field, entry_path, depth + 1, /*repeated=*/false);
    }
  }

  // Sets (or, for repeated fields, appends) one value of `field` from `node`.
  void parseValue(const YAML::Node& node, Message& message, const FieldDescriptor& field,
                  const std::string& path, int depth, bool repeated) {
    const Reflection& reflection = *message.GetReflection();
    if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      Message* child = repeated ? reflection.AddMessage(&message, &field)
                                : reflection.MutableMessage(&message, &field);
      parseMessage(node, *child, path, depth);
      return;
    }
    if (!enter(node, path, depth)) {
      return;
    }
    if (!node.IsScalar()) {
      addError(node, path,
               "expected " + std::string(scalarKindName(field)) + ", found " +
                   std::string(nodeKind(node)));
      return;
    }
    const std::string& text = node.Scalar();
    std::string problem;
    switch (field.cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        problem = storeInteger<int32_t>(text, message, field, repeated, &Reflection::SetInt32,
                                        &Reflection::AddInt32);
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        problem = storeInteger<int64_t>(text, message, field, repeated, &Reflection::SetInt64,
                                        &Reflection::AddInt64);
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        problem = storeInteger<uint32_t>(text, message, field, repeated, &Reflection::SetUInt32,
                                         &Reflection::AddUInt32);
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        problem = storeInteger<uint64_t>(text, message, field, repeated, &Reflection::SetUInt64,
                                         &Reflection::AddUInt64);
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE: {
        double value = 0;
        problem = parseFloating(text, value);
        if (problem.empty()) {
          repeated ? reflection.AddDouble(&message, &field, value)
                   : reflection.SetDouble(&message, &field, value);
        }
        break;
      }
      case FieldDescriptor::CPPTYPE_FLOAT: {
        double value = 0;
        problem = parseFloating(text, value);
        if (problem.empty() && std::fabs(value) > std::numeric_limits<float>::max()) {
          problem = "value " + text + " is out of range for a float";
        }
        if (problem.empty()) {
          repeated ? reflection.AddFloat(&message, &field, static_cast<float>(value))
                   : reflection.SetFloat(&message, &field, static_cast<float>(value));
        }
        break;
      }
      case FieldDescriptor::CPPTYPE_BOOL: {
        bool value = false;
        problem = parseBool(text, value);
        if (problem.empty()) {
          repeated ? reflection.AddBool(&message, &field, value)
                   : reflection.SetBool(&message, &field, value);
        }
        break;
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        const auto* enum_value = field.enum_type()->FindValueByName(text);
        if (enum_value == nullptr) {
          problem = "unknown value \"" + text + "\" for " + field.enum_type()->full_name() +
                    " (expected one of: " + enumNames(*field.enum_type()) + ")";
        } else {
          repeated ? reflection.AddEnum(&message, &field, enum_value)
                   : reflection.SetEnum(&message, &field, enum_value);
        }
        break;
      }
      case FieldDescriptor::CPPTYPE_STRING: {
        std::string value = text;
        if (field.type() == FieldDescriptor::TYPE_BYTES) {
          problem = decodeBase64(text, value);
        }
        if (problem.empty()) {
          repeated ? reflection.AddString(&message, &field, std::move(value))
                   : reflection.SetString(&message, &field, std::move(value));
        }
        break;
      }
      case FieldDescriptor::CPPTYPE_MESSAGE:
        break;  // Handled above.
    }
    if (!problem.empty()) {
      addError(node, path, std::move(problem));
    }
  }

  static std::string_view scalarKindName(const FieldDescriptor& field) {
    switch (field.cpp_type()) {
      case FieldDescriptor::CPPTYPE_BOOL:
        return "true or false";
      case FieldDescriptor::CPPTYPE_ENUM:
        return "an enum name";
      case FieldDescriptor::CPPTYPE_STRING:
        return field.type() == FieldDescriptor::TYPE_BYTES ? "base64 text" : "a string";
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT:
        return "a number";
      default:
        return "an integer";
    }
  }

  static std::string enumNames(const google::protobuf::EnumDescriptor& descriptor) {
    std::string names;
    for (int i = 0; i < descriptor.value_count(); ++i) {
      if (i > 0) {
        names += ", ";
      }
      names += descriptor.value(i)->name();
    }
    return names;
  }

  // The well-known types have their own textual forms. Returns true when `message`
  // is one of them (and has been handled, errors included).
  bool parseWellKnownType(const YAML::Node& node, Message& message, const std::string& path,
                          int depth) {
    const std::string& type = message.GetDescriptor()->full_name();
    if (type.rfind("google.protobuf.", 0) != 0) {
      return false;
    }
    if (type == "google.protobuf.Duration") {
      if (!node.IsScalar()) {
        addError(node, path,
                 "expected a duration such as \"5s\" or \"250ms\", found " +
                     std::string(nodeKind(node)));
        return true;
      }
      auto& duration = static_cast<google::protobuf::Duration&>(message);
      std::string problem = parseDurationText(node.Scalar(), duration);
      if (!problem.empty()) {
        addError(node, path, std::move(problem));
      }
      return true;
    }
    if (type == "google.protobuf.Timestamp") {
      auto& timestamp = static_cast<google::protobuf::Timestamp&>(message);
      if (!node.IsScalar() ||
          !google::protobuf::util::TimeUtil::FromString(node.Scalar(), &timestamp)) {
        addError(node, path, "expected an RFC 3339 timestamp such as \"2026-01-31T12:00:00Z\"");
      }
      return true;
    }
    if (type == "google.protobuf.Any") {
      parseAny(node, message, path, depth);
      return true;
    }
    if (type == "google.protobuf.Value") {
      parseStructValue(node, static_cast<google::protobuf::Value&>(message), path, depth);
      return true;
    }
    if (type == "google.protobuf.Struct") {
      if (!node.IsMap()) {
        addError(node, path, "expected a map, found " + std::string(nodeKind(node)));
        return true;
      }
      google::protobuf::Value value;
      parseStructValue(node, value, path, depth);
      static_cast<google::protobuf::Struct&>(message) = value.struct_value();
      return true;
    }
    if (type == "google.protobuf.ListValue") {
      if (!node.IsSequence()) {
        addError(node, path, "expected a list, found " + std::string(nodeKind(node)));
        return true;
      }
      google::protobuf::Value value;
      parseStructValue(node, value, path, depth);
      static_cast<google::protobuf::ListValue&>(message) = value.list_value();
      return true;
    }
    static const std::set<std::string> kWrappers = {
        "google.protobuf.DoubleValue", "google.protobuf.FloatValue",  "google.protobuf.Int64Value",
        "google.protobuf.UInt64Value", "google.protobuf.Int32Value",  "google.protobuf.UInt32Value",
        "google.protobuf.BoolValue",   "google.protobuf.StringValue", "google.protobuf.BytesValue"};
    if (kWrappers.count(type) != 0) {
      // A wrapper is written as its plain value; its path is the wrapper's own.
      const FieldDescriptor& value_field = *message.GetDescriptor()->FindFieldByName("value");
      parseValue(node, message, value_field, path, depth, /*repeated=*/false);
      return true;
    }
    if (type == "google.protobuf.Empty") {
      if (!(node.IsMap() && node.size() == 0)) {
        addError(node, path, "expected an empty map {}");
      }
      return true;
    }
    return false;
  }

  void parseAny(const YAML::Node& node, Message& any, const std::string& path, int depth) {
    if (!node.IsMap()) {
      addError(node, path,
               "expected a map with an \"@type\" key, found " + std::string(nodeKind(node)));
      return;
    }
    const YAML::Node type_node = node["@type"];
    if (!type_node || !type_node.IsScalar()) {
      addError(node, path, "missing \"@type\" (e.g. \"type.googleapis.com/weft.v1.Cluster\")");
      return;
    }
    const std::string& type_url = type_node.Scalar();
    const std::string type_name = type_url.substr(type_url.rfind('/') + 1);
    const Descriptor* descriptor =
        google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type_name);
    if (descriptor == nullptr) {
      addError(type_node, appendField(path, "@type"), "unknown type \"" + type_url + "\"");
      return;
    }
    const Message* prototype =
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor);
    std::unique_ptr<Message> inner(prototype->New());
    parseFields(node, *inner, path, depth, "@type");
    const Reflection& reflection = *any.GetReflection();
    const Descriptor& any_descriptor = *any.GetDescriptor();
    reflection.SetString(&any, any_descriptor.FindFieldByName("type_url"),
                         "type.googleapis.com/" + type_name);
    reflection.SetString(&any, any_descriptor.FindFieldByName("value"), inner->SerializeAsString());
  }

  void parseStructValue(const YAML::Node& node, google::protobuf::Value& value,
                        const std::string& path, int depth) {
    if (!enter(node, path, depth)) {
      return;
    }
    switch (node.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        value.set_null_value(google::protobuf::NULL_VALUE);
        return;
      case YAML::NodeType::Scalar: {
        const std::string& text = node.Scalar();
        if (isPlainScalar(node)) {
          bool flag = false;
          double number = 0;
          if (parseBool(text, flag).empty()) {
            value.set_bool_value(flag);
            return;
          }
          if (parseFloating(text, number).empty()) {
            value.set_number_value(number);
            return;
          }
        }
        value.set_string_value(text);
        return;
      }
      case YAML::NodeType::Sequence: {
        auto* list = value.mutable_list_value();
        size_t index = 0;
        for (const YAML::Node& element : node) {
          parseStructValue(element, *list->add_values(), appendIndex(path, index++), depth + 1);
        }
        return;
      }
      case YAML::NodeType::Map: {
        auto* fields = value.mutable_struct_value()->mutable_fields();
        for (auto it = node.begin(); it != node.end(); ++it) {
          const YAML::Node key = it->first;
          const YAML::Node entry = it->second;
          if (!acceptKey(key, path, depth + 1)) {
            if (budget_exhausted_ || errors_.size() >= kMaxReportedErrors) {
              return;
            }
            continue;
          }
          if (!key.IsScalar()) {
            addError(key, path, "map keys must be scalars");
            continue;
          }
          const std::string entry_path = appendKey(path, key.Scalar());
          if (fields->count(key.Scalar()) != 0) {
            addError(key, entry_path, "map key is given more than once");
            continue;
          }
          parseStructValue(entry, (*fields)[key.Scalar()], entry_path, depth + 1);
        }
        return;
      }
    }
  }

  std::string_view source_;
  YamlLimits limits_;
  ConfigErrors errors_;
  std::unordered_map<std::string, Position> positions_;
  size_t nodes_visited_ = 0;
  size_t path_bytes_ = 0;
  bool budget_exhausted_ = false;
};

}  // namespace

ConfigErrors loadYaml(std::string_view text, std::string_view source_name, Message& out,
                      const YamlLimits& limits) {
  out.Clear();
  auto document_error = [&](int line, int column, std::string reason) {
    return ConfigErrors{ConfigError{std::string(source_name), "", line, column, std::move(reason)}};
  };
  if (text.size() > limits.max_document_bytes) {
    return document_error(0, 0,
                          "document is " + std::to_string(text.size()) +
                              " bytes, larger than the limit of " +
                              std::to_string(limits.max_document_bytes));
  }
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(text));
  } catch (const YAML::ParserException& e) {
    // yaml-cpp reports syntax errors only by exception; they stop at this boundary.
    return document_error(e.mark.line + 1, e.mark.column + 1, "YAML syntax error: " + e.msg);
  } catch (const YAML::Exception& e) {
    return document_error(0, 0, std::string("YAML error: ") + e.what());
  }
  if (documents.empty() || documents.front().IsNull()) {
    return document_error(0, 0, "document is empty");
  }
  if (documents.size() > 1) {
    const Position second = positionOf(documents[1]);
    return document_error(second.line, second.column,
                          "expected one YAML document, found " + std::to_string(documents.size()));
  }

  return loadYamlNode(documents.front(), source_name, "", out, limits);
}

ConfigErrors loadYamlNode(const YAML::Node& node, std::string_view source_name,
                          std::string_view path_prefix, Message& out, const YamlLimits& limits,
                          const MessageCheck& check) {
  out.Clear();
  const std::string prefix(path_prefix);
  // Errors found in `out` have paths relative to it; the caller reads them from the
  // document's root.
  auto prefixed = [&prefix](ConfigError error) {
    if (!prefix.empty()) {
      error.field_path = error.field_path.empty() ? prefix : appendField(prefix, error.field_path);
    }
    return error;
  };
  YamlToProto parser(source_name, limits);
  try {
    parser.parseRoot(node, out, prefix);
  } catch (const YAML::Exception& e) {
    // Reading a node can still throw (e.g. on an invalid node); it stops here.
    return {ConfigError{std::string(source_name), prefix, 0, 0,
                        std::string("YAML error: ") + e.what()}};
  }
  if (parser.hasErrors()) {
    return parser.takeErrors();
  }
  for (ConfigError& error : validateMessage(out)) {
    parser.addPositioned(prefixed(std::move(error)));
  }
  if (check) {
    for (ConfigError& error : check(out)) {
      parser.addPositioned(prefixed(std::move(error)));
    }
  }
  return parser.takeErrors();
}

ConfigErrors readConfigFile(const std::string& path, std::string& text, const YamlLimits& limits) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return {ConfigError{path, "", 0, 0, "cannot open file: " + std::string(std::strerror(errno))}};
  }
  file.seekg(0, std::ios::end);
  const std::streamoff size = file.tellg();
  if (size < 0) {
    return {ConfigError{path, "", 0, 0, "cannot read file (not a regular file?)"}};
  }
  if (static_cast<uint64_t>(size) > limits.max_document_bytes) {
    return {ConfigError{path, "", 0, 0,
                        "file is " + std::to_string(size) + " bytes, larger than the limit of " +
                            std::to_string(limits.max_document_bytes)}};
  }
  file.seekg(0, std::ios::beg);
  text.assign(static_cast<size_t>(size), '\0');
  if (!file.read(text.data(), size)) {
    return {ConfigError{path, "", 0, 0, "cannot read file"}};
  }
  return {};
}

ConfigErrors loadYamlFile(const std::string& path, Message& out, const YamlLimits& limits) {
  std::string text;
  if (ConfigErrors errors = readConfigFile(path, text, limits); !errors.empty()) {
    return errors;
  }
  return loadYaml(text, path, out, limits);
}

}  // namespace weft::config
