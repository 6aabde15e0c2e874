#include "common/config/proto_validator.h"

#include <google/protobuf/any.pb.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/duration.pb.h>
#include <re2/re2.h>

#include <algorithm>
#include <memory>
#include <set>
#include <unordered_map>

#include "common/config/duration_text.h"
#include "common/config/field_path.h"
#include "weft/v1/options.pb.h"

namespace weft::config {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string formatNumber(double value) {
  std::string text = std::to_string(value);
  // std::to_string gives six decimals; trim "1.000000" to "1" and "0.500000" to "0.5".
  if (text.find('.') != std::string::npos) {
    while (!text.empty() && text.back() == '0') {
      text.pop_back();
    }
    if (!text.empty() && text.back() == '.') {
      text.pop_back();
    }
  }
  return text;
}

std::string formatBound(double value, bool is_duration) {
  if (!is_duration) {
    return formatNumber(value);
  }
  // Clamp before converting: a double outside int64's range is undefined to cast.
  value = std::clamp(value, -1e15, 1e15);
  google::protobuf::Duration duration;
  const double whole = static_cast<double>(static_cast<int64_t>(value));
  duration.set_seconds(static_cast<int64_t>(value));
  duration.set_nanos(static_cast<int32_t>((value - whole) * 1e9 + 0.5));
  return formatDurationText(duration);
}

class Validator {
 public:
  Validator(std::string_view source, PatternCache* shared) : source_(source), shared_(shared) {}

  void validate(const Message& message, const std::string& path) {
    const Descriptor& descriptor = *message.GetDescriptor();
    const Reflection& reflection = *message.GetReflection();

    for (int i = 0; i < descriptor.oneof_decl_count(); ++i) {
      const auto* oneof = descriptor.oneof_decl(i);
      if (oneof->options().GetExtension(weft::v1::oneof_required) &&
          reflection.GetOneofFieldDescriptor(message, oneof) == nullptr) {
        std::string names;
        for (int j = 0; j < oneof->field_count(); ++j) {
          names += (j == 0 ? "" : ", ") + oneof->field(j)->name();
        }
        fail(path, "one of " + names + " is required");
      }
    }

    for (int i = 0; i < descriptor.field_count(); ++i) {
      const FieldDescriptor& field = *descriptor.field(i);
      const std::string field_path = appendField(path, field.name());
      const weft::v1::FieldRules& rules = field.options().GetExtension(weft::v1::rules);
      if (field.is_repeated()) {
        validateRepeated(message, field, rules, field_path);
      } else {
        validateSingular(message, field, rules, field_path);
      }
    }
  }

  ConfigErrors takeErrors() { return std::move(errors_); }

  // Patterns are compiled once per field and validation run. Not a process-wide
  // cache: RE2 grows its matching state as it runs, and state that outlived the
  // run would pin the pages of the loader's freed transient memory.
  const RE2* compiledPattern(const FieldDescriptor& field, const std::string& pattern) {
    if (shared_ != nullptr) {
      return shared_->compiled(field, pattern);
    }
    auto& entry = patterns_[&field];
    if (!entry) {
      RE2::Options options;
      options.set_log_errors(false);
      entry = std::make_unique<RE2>(pattern, options);
    }
    return entry.get();
  }

 private:
  void fail(const std::string& path, std::string reason) {
    if (errors_.size() < kMaxReportedErrors) {
      errors_.push_back(ConfigError{std::string(source_), path, 0, 0, std::move(reason)});
    }
  }

  void validateRepeated(const Message& message, const FieldDescriptor& field,
                        const weft::v1::FieldRules& rules, const std::string& path) {
    const Reflection& reflection = *message.GetReflection();
    const int size = reflection.FieldSize(message, &field);
    if (rules.required() && size == 0) {
      fail(path, "is required (at least one entry)");
    }
    if (rules.has_min_items() && static_cast<uint64_t>(size) < rules.min_items()) {
      fail(path, "needs at least " + std::to_string(rules.min_items()) + " entries, has " +
                     std::to_string(size));
    }
    if (rules.has_max_items() && static_cast<uint64_t>(size) > rules.max_items()) {
      fail(path, "allows at most " + std::to_string(rules.max_items()) + " entries, has " +
                     std::to_string(size));
    }
    if (field.is_map()) {
      const FieldDescriptor& key_field = *field.message_type()->map_key();
      const FieldDescriptor& value_field = *field.message_type()->map_value();
      const bool string_keys = key_field.cpp_type() == FieldDescriptor::CPPTYPE_STRING;
      // Cached under the entry's key field: the map field's own slot holds `pattern`.
      const RE2* key_pattern = string_keys && !rules.key_pattern().empty()
                                   ? compiledPattern(key_field, rules.key_pattern())
                                   : nullptr;
      if (key_pattern != nullptr && !key_pattern->ok()) {
        fail(path,
             "the API's own key pattern for this field does not compile: " + key_pattern->error());
        key_pattern = nullptr;
      }
      for (int i = 0; i < size; ++i) {
        const Message& entry = reflection.GetRepeatedMessage(message, &field, i);
        const std::string key =
            string_keys ? entry.GetReflection()->GetString(entry, &key_field) : std::string();
        const std::string entry_path =
            string_keys ? appendKey(path, key) : appendIndex(path, static_cast<size_t>(i));
        if (key_pattern != nullptr && !RE2::FullMatch(key, *key_pattern)) {
          fail(entry_path,
               "the key \"" + key + "\" does not match the pattern " + rules.key_pattern());
        }
        if (value_field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          validateChild(entry.GetReflection()->GetMessage(entry, &value_field), entry_path);
        } else {
          checkScalar(entry, value_field, -1, rules, entry_path);
        }
      }
      return;
    }
    std::set<std::string> seen;
    for (int i = 0; i < size; ++i) {
      const std::string element_path = appendIndex(path, static_cast<size_t>(i));
      if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        const Message& child = reflection.GetRepeatedMessage(message, &field, i);
        checkMessageBounds(child, rules, element_path);
        validateChild(child, element_path);
        continue;
      }
      checkScalar(message, field, i, rules, element_path);
      if (rules.unique() && field.cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
        const std::string value = reflection.GetRepeatedString(message, &field, i);
        if (!seen.insert(value).second) {
          fail(element_path, "duplicate entry \"" + value + "\"");
        }
      }
    }
  }

  void validateSingular(const Message& message, const FieldDescriptor& field,
                        const weft::v1::FieldRules& rules, const std::string& path) {
    const Reflection& reflection = *message.GetReflection();
    if (field.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (!reflection.HasField(message, &field)) {
        if (rules.required()) {
          fail(path, "is required");
        }
        return;
      }
      const Message& child = reflection.GetMessage(message, &field);
      checkMessageBounds(child, rules, path);
      validateChild(child, path);
      return;
    }
    // Scalars in proto3 without `optional` have no presence: unset is the zero value.
    if (field.has_presence() && !reflection.HasField(message, &field)) {
      if (rules.required()) {
        fail(path, "is required");
      }
      return;
    }
    checkScalar(message, field, -1, rules, path);
  }

  // Recurses into a sub-message, unpacking google.protobuf.Any when the type is known.
  void validateChild(const Message& child, const std::string& path) {
    if (++depth_ > kMaxDepth) {
      fail(path, "message nesting is deeper than " + std::to_string(kMaxDepth));
      --depth_;
      return;
    }
    if (child.GetDescriptor()->full_name() == "google.protobuf.Any") {
      validateAny(child, path);
    } else {
      validate(child, path);
    }
    --depth_;
  }

  void validateAny(const Message& any, const std::string& path) {
    const Reflection& reflection = *any.GetReflection();
    const Descriptor& descriptor = *any.GetDescriptor();
    const std::string type_url = reflection.GetString(any, descriptor.FindFieldByName("type_url"));
    const std::string type_name = type_url.substr(type_url.rfind('/') + 1);
    const Descriptor* inner_descriptor =
        google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type_name);
    if (inner_descriptor == nullptr) {
      fail(path, "unknown type \"" + type_url + "\"");
      return;
    }
    std::unique_ptr<Message> inner(google::protobuf::MessageFactory::generated_factory()
                                       ->GetPrototype(inner_descriptor)
                                       ->New());
    if (!inner->ParseFromString(reflection.GetString(any, descriptor.FindFieldByName("value")))) {
      fail(path, "cannot decode the " + type_name + " inside");
      return;
    }
    validate(*inner, path);
  }

  // Bounds on Duration and wrapper messages, whose value is numeric.
  void checkMessageBounds(const Message& child, const weft::v1::FieldRules& rules,
                          const std::string& path) {
    if (!rules.has_min() && !rules.has_max()) {
      return;
    }
    const Descriptor& descriptor = *child.GetDescriptor();
    if (descriptor.full_name() == "google.protobuf.Duration") {
      const auto& duration = static_cast<const google::protobuf::Duration&>(child);
      const double seconds =
          static_cast<double>(duration.seconds()) + static_cast<double>(duration.nanos()) / 1e9;
      checkBounds(seconds, rules, path, /*is_duration=*/true);
      return;
    }
    const FieldDescriptor* value = descriptor.FindFieldByName("value");
    if (descriptor.full_name().rfind("google.protobuf.", 0) == 0 && value != nullptr) {
      double number = 0;
      if (numericValue(child, *value, -1, number)) {
        checkBounds(number, rules, path, /*is_duration=*/false);
      }
    }
  }

  void checkBounds(double value, const weft::v1::FieldRules& rules, const std::string& path,
                   bool is_duration) {
    const std::string shown = is_duration ? formatBound(value, true) : formatNumber(value);
    if (rules.has_min() && value < rules.min()) {
      fail(path, "must be at least " + formatBound(rules.min(), is_duration) + ", got " + shown);
    }
    if (rules.has_max() && value > rules.max()) {
      fail(path, "must be at most " + formatBound(rules.max(), is_duration) + ", got " + shown);
    }
  }

  // Reads a numeric scalar (index -1: singular) as a double. False for non-numbers.
  static bool numericValue(const Message& message, const FieldDescriptor& field, int index,
                           double& out) {
    const Reflection& r = *message.GetReflection();
    const bool rep = index >= 0;
    switch (field.cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        out = rep ? r.GetRepeatedInt32(message, &field, index) : r.GetInt32(message, &field);
        return true;
      case FieldDescriptor::CPPTYPE_INT64:
        out = static_cast<double>(rep ? r.GetRepeatedInt64(message, &field, index)
                                      : r.GetInt64(message, &field));
        return true;
      case FieldDescriptor::CPPTYPE_UINT32:
        out = rep ? r.GetRepeatedUInt32(message, &field, index) : r.GetUInt32(message, &field);
        return true;
      case FieldDescriptor::CPPTYPE_UINT64:
        out = static_cast<double>(rep ? r.GetRepeatedUInt64(message, &field, index)
                                      : r.GetUInt64(message, &field));
        return true;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        out = rep ? r.GetRepeatedDouble(message, &field, index) : r.GetDouble(message, &field);
        return true;
      case FieldDescriptor::CPPTYPE_FLOAT:
        out = rep ? r.GetRepeatedFloat(message, &field, index) : r.GetFloat(message, &field);
        return true;
      default:
        return false;
    }
  }

  void checkScalar(const Message& message, const FieldDescriptor& field, int index,
                   const weft::v1::FieldRules& rules, const std::string& path) {
    const Reflection& reflection = *message.GetReflection();
    const bool repeated = index >= 0;
    switch (field.cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING: {
        const std::string value = repeated ? reflection.GetRepeatedString(message, &field, index)
                                           : reflection.GetString(message, &field);
        if (value.empty()) {
          if (rules.required() && !field.is_repeated()) {
            fail(path, "is required");
          } else if (rules.required()) {
            fail(path, "must not be empty");
          }
          return;
        }
        if (rules.has_min_len() && value.size() < rules.min_len()) {
          fail(path, "must be at least " + std::to_string(rules.min_len()) + " bytes long");
        }
        if (rules.has_max_len() && value.size() > rules.max_len()) {
          fail(path, "must be at most " + std::to_string(rules.max_len()) + " bytes long, is " +
                         std::to_string(value.size()));
        }
        if (!rules.pattern().empty()) {
          const RE2* pattern = compiledPattern(field, rules.pattern());
          if (!pattern->ok()) {
            fail(path,
                 "the API's own pattern for this field does not compile: " + pattern->error());
          } else if (!RE2::FullMatch(value, *pattern)) {
            fail(path, "\"" + value + "\" does not match the pattern " + rules.pattern());
          }
        }
        return;
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        const int number = repeated ? reflection.GetRepeatedEnumValue(message, &field, index)
                                    : reflection.GetEnumValue(message, &field);
        if (field.enum_type()->FindValueByNumber(number) == nullptr) {
          fail(path, "unknown value " + std::to_string(number) + " for " +
                         field.enum_type()->full_name());
          return;
        }
        if (rules.required() && number == 0) {
          fail(path,
               "is required (" + field.enum_type()->value(0)->name() + " is not a valid choice)");
        }
        return;
      }
      case FieldDescriptor::CPPTYPE_BOOL: {
        const bool value = repeated ? reflection.GetRepeatedBool(message, &field, index)
                                    : reflection.GetBool(message, &field);
        if (rules.required() && !value) {
          fail(path, "must be true");
        }
        return;
      }
      default:
        break;
    }
    double value = 0;
    if (!numericValue(message, field, index, value)) {
      return;
    }
    if (value == 0 && !field.has_presence() && !repeated) {
      // Zero is how proto3 says "unset" for a scalar without presence: the
      // default applies, so there is nothing to bound (options.proto explains).
      if (rules.required()) {
        fail(path, "is required (must not be 0)");
      }
      return;
    }
    checkBounds(value, rules, path, /*is_duration=*/false);
  }

  static constexpr int kMaxDepth = 100;
  std::string_view source_;
  ConfigErrors errors_;
  PatternCache* shared_;
  std::unordered_map<const FieldDescriptor*, std::unique_ptr<RE2>> patterns_;
  int depth_ = 0;
};

}  // namespace

PatternCache::PatternCache() = default;
PatternCache::~PatternCache() = default;

const RE2* PatternCache::compiled(const google::protobuf::FieldDescriptor& field,
                                  const std::string& pattern) {
  auto& entry = patterns_[&field];
  if (!entry) {
    RE2::Options options;
    options.set_log_errors(false);
    entry = std::make_unique<RE2>(pattern, options);
  }
  return entry.get();
}

ConfigErrors validateMessage(const Message& message, std::string_view source,
                             PatternCache* patterns) {
  Validator validator(source, patterns);
  validator.validate(message, "");
  return validator.takeErrors();
}

}  // namespace weft::config
