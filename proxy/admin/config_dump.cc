#include "proxy/admin/config_dump.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/reflection.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <ctime>

#include "proxy/admin/json_text.h"

namespace weft::proxy::admin {

namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr std::string_view kSecretFieldName = "private_key";
constexpr std::string_view kRedacted = "[redacted]";

bool isSecretField(const FieldDescriptor& field) {
  return field.name() == kSecretFieldName && field.cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
         !field.is_repeated();
}

bool containsSecrets(const Message& message) {
  const Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (isSecretField(*field)) {
      if (!reflection->GetString(message, field).empty()) {
        return true;
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (!field->is_repeated()) {
        if (containsSecrets(reflection->GetMessage(message, field))) {
          return true;
        }
        continue;
      }
      const int count = reflection->FieldSize(message, field);
      for (int i = 0; i < count; ++i) {
        if (containsSecrets(reflection->GetRepeatedMessage(message, field, i))) {
          return true;
        }
      }
    }
  }
  return false;
}

std::string formatTime(std::chrono::system_clock::time_point time) {
  if (time.time_since_epoch().count() == 0) {
    return "null";
  }
  const auto since_epoch = time.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
  const std::time_t whole = static_cast<std::time_t>(seconds.count());
  std::tm utc{};
  gmtime_r(&whole, &utc);
  char text[40];
  const size_t length = std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc);
  char with_millis[64];
  std::snprintf(with_millis, sizeof(with_millis), "\"%.*s.%03dZ\"", static_cast<int>(length), text,
                static_cast<int>(millis));
  return with_millis;
}

// Re-indents protobuf's pretty output to two spaces per level (protobuf 3.21 uses one, later
// versions two) and nests it one level deep in the envelope. Every line's leading spaces are
// indentation: JSON strings cannot hold a raw newline.
std::string nest(std::string_view json) {
  while (!json.empty() && json.back() == '\n') {
    json.remove_suffix(1);
  }
  size_t unit = 0;
  std::string out;
  out.reserve(json.size() * 2);
  bool first = true;
  while (!json.empty()) {
    const size_t newline = json.find('\n');
    std::string_view line = json.substr(0, newline);
    json = newline == std::string_view::npos ? std::string_view() : json.substr(newline + 1);
    const size_t spaces = std::min(line.find_first_not_of(' '), line.size());
    if (unit == 0 && spaces > 0) {
      unit = spaces;  // the first indented line is one level deep
    }
    if (!first) {
      out += '\n';
      out.append(2 + (unit == 0 ? 0 : spaces / unit * 2), ' ');
    }
    first = false;
    out += line.substr(spaces);
  }
  return out;
}

}  // namespace

bool redactSecrets(Message& message) {
  const Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  bool redacted = false;
  for (const FieldDescriptor* field : fields) {
    if (isSecretField(*field)) {
      if (!reflection->GetString(message, field).empty()) {
        reflection->SetString(&message, field, std::string(kRedacted));
        redacted = true;
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (!field->is_repeated()) {
        redacted |= redactSecrets(*reflection->MutableMessage(&message, field));
        continue;
      }
      const int count = reflection->FieldSize(message, field);
      for (int i = 0; i < count; ++i) {
        redacted |= redactSecrets(*reflection->MutableRepeatedMessage(&message, field, i));
      }
    }
  }
  return redacted;
}

bool renderConfigDump(const ConfigDump& dump, std::string& out, std::string& error) {
  std::string bootstrap_json = "{}";
  if (dump.bootstrap) {
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    options.preserve_proto_field_names = true;
    const Message* printed = dump.bootstrap.get();
    std::unique_ptr<weft::v1::Bootstrap> redacted;
    // Copy only when there is something to hide; the snapshot's message stays untouched.
    if (containsSecrets(*dump.bootstrap)) {
      redacted = std::make_unique<weft::v1::Bootstrap>(*dump.bootstrap);
      redactSecrets(*redacted);
      printed = redacted.get();
    }
    bootstrap_json.clear();
    const auto status =
        google::protobuf::util::MessageToJsonString(*printed, &bootstrap_json, options);
    if (!status.ok()) {
      error = "printing the configuration as JSON failed: " + std::string(status.message());
      return false;
    }
  }
  out = "{\n  \"version_info\": " + jsonQuoted(dump.version_info);
  if (!dump.config_source.empty()) {
    out += ",\n  \"config_source\": " + jsonQuoted(dump.config_source);
  }
  out += ",\n  \"last_updated\": " + formatTime(dump.last_updated) +
         ",\n  \"bootstrap\": " + nest(bootstrap_json) + "\n}\n";
  return true;
}

}  // namespace weft::proxy::admin
