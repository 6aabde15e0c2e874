#include "controlplane/crd/openapi_schema.h"

#include <google/protobuf/duration.pb.h>
#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <regex>

#include "common/config/duration_text.h"
#include "weft/v1/options.pb.h"

namespace weft::controlplane::crd {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using weft::v1::FieldRules;

const std::vector<std::string_view> kSchemaKeyOrder = {
    "description",
    "type",
    "format",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "items",
    "additionalProperties",
    "properties",
    "required",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-preserve-unknown-fields",
    "oneOf",
    "x-kubernetes-validations",
};

constexpr double kUint32Max = 4294967295.0;
constexpr double kInt32Max = 2147483647.0;

std::string durationText(double seconds) {
  seconds = std::clamp(seconds, 0.0, 1e15);
  google::protobuf::Duration duration;
  const auto whole = static_cast<int64_t>(seconds);
  duration.set_seconds(whole);
  duration.set_nanos(static_cast<int32_t>((seconds - static_cast<double>(whole)) * 1e9 + 0.5));
  return weft::config::formatDurationText(duration);
}

// The bounds of a Duration field as a CEL rule on its text (false when there are none); the
// schema cannot compare durations. Bounds at or below 0 say nothing: the pattern admits no
// negative durations.
bool durationBoundsRule(const FieldRules& rules, std::string& rule, std::string& message) {
  const bool has_min = rules.has_min() && rules.min() > 0;
  const bool has_max = rules.has_max();
  if (!has_min && !has_max) {
    return false;
  }
  const std::string min = has_min ? durationText(rules.min()) : "";
  const std::string max = has_max ? durationText(rules.max()) : "";
  if (has_min && has_max) {
    rule = "duration(self) >= duration('" + min + "') && duration(self) <= duration('" + max + "')";
    message = "must be between " + min + " and " + max;
  } else if (has_min) {
    rule = "duration(self) >= duration('" + min + "')";
    message = "must be at least " + min;
  } else {
    rule = "duration(self) <= duration('" + max + "')";
    message = "must be at most " + max;
  }
  return true;
}

// Checks that a proto pattern means the same to the control plane (RE2, full match) and to
// Kubernetes and its clients (ECMA-262 in the OpenAPI spec, Go's RE2 in the API server), and
// returns its anchored form for the schema.
std::string portablePattern(const std::string& pattern, const std::string& where,
                            std::string& anchored) {
  RE2::Options options;
  options.set_log_errors(false);
  const RE2 re2(pattern, options);
  if (!re2.ok()) {
    return where + ": the pattern \"" + pattern + "\" does not compile as RE2: " + re2.error();
  }
  // RE2 syntax that ECMAScript lacks or reads differently. std::regex rejects most of it,
  // but not all, so these are refused outright.
  for (std::string_view construct : {"(?P", "(?i", "(?s", "(?m", "(?U", "\\A", "\\z", "\\C", "\\Q",
                                     "\\E", "\\p", "\\P", "[[:"}) {
    if (pattern.find(construct) != std::string::npos) {
      return where + ": the pattern \"" + pattern + "\" uses \"" + std::string(construct) +
             "\", which ECMAScript regular expressions do not have";
    }
  }
  anchored = "^(?:" + pattern + ")$";
  try {
    const std::regex ecma(anchored, std::regex::ECMAScript);
    (void)ecma;
  } catch (const std::regex_error& error) {
    return where + ": the pattern \"" + pattern +
           "\" is not an ECMAScript regular expression: " + error.what();
  }
  return {};
}

bool isUnsigned(const FieldDescriptor& field) {
  return field.cpp_type() == FieldDescriptor::CPPTYPE_UINT32 ||
         field.cpp_type() == FieldDescriptor::CPPTYPE_UINT64;
}

bool isInteger(const FieldDescriptor& field) {
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64:
      return true;
    default:
      return false;
  }
}

std::string joinNames(const std::vector<std::string>& names, std::string_view last_separator) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) {
      out += i + 1 == names.size() ? last_separator : ", ";
    }
    out += names[i];
  }
  return out;
}

std::string integerKeyRule(const FieldDescriptor& key) {
  switch (key.cpp_type()) {
    case FieldDescriptor::CPPTYPE_UINT32:
      return "self.all(k, uint(k) <= 4294967295u)";
    case FieldDescriptor::CPPTYPE_UINT64:
      return "self.all(k, uint(k) <= 18446744073709551615u)";
    case FieldDescriptor::CPPTYPE_INT32:
      return "self.all(k, int(k) >= -2147483648 && int(k) <= 2147483647)";
    default:
      return "self.all(k, int(k) <= 9223372036854775807)";
  }
}

std::string integerKeyMessage(const FieldDescriptor& key) {
  switch (key.cpp_type()) {
    case FieldDescriptor::CPPTYPE_UINT32:
      return "keys must be integers from 0 to 4294967295";
    case FieldDescriptor::CPPTYPE_UINT64:
      return "keys must be integers from 0 to 18446744073709551615";
    case FieldDescriptor::CPPTYPE_INT32:
      return "keys must be integers from -2147483648 to 2147483647";
    default:
      return "keys must be 64-bit integers";
  }
}

// A property name as CEL sees it: Kubernetes escapes CEL's reserved words as __word__.
std::string celProperty(const std::string& name) {
  static constexpr std::array<std::string_view, 21> kReserved = {
      "true",     "false",   "null",      "in",       "as",  "break",  "const",
      "continue", "else",    "for",       "function", "if",  "import", "let",
      "loop",     "package", "namespace", "return",   "var", "void",   "while"};
  if (std::find(kReserved.begin(), kReserved.end(), name) != kReserved.end()) {
    return "__" + name + "__";
  }
  return name;
}

std::string capitalized(std::string text) {
  if (!text.empty() && text.front() >= 'a' && text.front() <= 'z') {
    text.front() = static_cast<char>(text.front() - 'a' + 'A');
  }
  return text;
}

// How often a schema below a list or map can be evaluated: the count above it times the
// list's maxItems (unbounded without one).
uint64_t timesEntries(uint64_t cardinality, const FieldRules& rules) {
  if (!rules.has_max_items() || cardinality == kUnboundedCardinality) {
    return kUnboundedCardinality;
  }
  const uint64_t entries = std::max<uint64_t>(rules.max_items(), 1);
  if (cardinality > kUnboundedCardinality / entries) {
    return kUnboundedCardinality;
  }
  return cardinality * entries;
}

// "Exactly one" / "at most one" as OpenAPI value validation, which costs the API server no
// CEL budget: one branch per member (the member is present), plus, when none may be set, a
// branch for "no member present". oneOf then demands that exactly one branch holds.
// Returns false if the schema has a oneOf already (two would need an allOf around them,
// which no mesh message needs).
bool addOneOfSchema(YamlValue& schema, const std::vector<std::string>& names, bool required) {
  if (schema.find("oneOf") != nullptr) {
    return false;
  }
  YamlValue list = YamlValue::list();
  if (!required) {
    YamlValue any = YamlValue::list();
    for (const std::string& name : names) {
      YamlValue branch = YamlValue::map();
      branch.set("required", YamlValue::stringList({name}));
      any.push(std::move(branch));
    }
    YamlValue none = YamlValue::map();
    YamlValue any_of = YamlValue::map();
    any_of.set("anyOf", std::move(any));
    none.set("not", std::move(any_of));
    list.push(std::move(none));
  }
  for (const std::string& name : names) {
    YamlValue branch = YamlValue::map();
    branch.set("required", YamlValue::stringList({name}));
    list.push(std::move(branch));
  }
  schema.set("oneOf", std::move(list));
  return true;
}

}  // namespace

std::string OpenApiSchemaBuilder::addRule(YamlValue& schema, const std::string& where,
                                          std::string_view rule, std::string_view message) const {
  if (cardinality_ == kUnboundedCardinality) {
    return where + ": the CEL rule \"" + std::string(rule) +
           "\" sits below a list or map without max_items, so the API server would estimate "
           "its cost as unbounded and refuse the CRD; give the enclosing lists max_items";
  }
  addCelRule(schema, rule, message);
  return {};
}

void addCelRule(YamlValue& schema, std::string_view rule, std::string_view message) {
  YamlValue* rules = schema.find("x-kubernetes-validations");
  if (rules == nullptr) {
    rules = &schema.set("x-kubernetes-validations", YamlValue::list());
  }
  YamlValue entry = YamlValue::map();
  entry.set("rule", YamlValue::string(std::string(rule)));
  entry.set("message", YamlValue::string(std::string(message)));
  rules->push(std::move(entry));
}

void orderSchemaKeys(YamlValue& schema) {
  schema.orderKeys(kSchemaKeyOrder);
}

std::string OpenApiSchemaBuilder::messageSchema(const Descriptor& message,
                                                const std::string& description, YamlValue& out) {
  if (std::find(stack_.begin(), stack_.end(), &message) != stack_.end()) {
    return message.full_name() +
           " contains itself, which a structural schema (no references) cannot express";
  }
  if (!comments_.hasFile(message.file()->name())) {
    return message.file()->name() +
           " is not in the embedded descriptor set, so the descriptions of its types would be "
           "missing: add it to WEFT_CRD_PROTO_FILES in controlplane/crd/CMakeLists.txt";
  }
  stack_.push_back(&message);
  struct PopOnExit {
    std::vector<const Descriptor*>& stack;
    ~PopOnExit() { stack.pop_back(); }
  } pop_on_exit{stack_};
  out = YamlValue::map();
  const std::string text = description.empty() ? comments_.of(message) : description;
  if (!text.empty()) {
    out.set("description", YamlValue::string(text));
  }
  out.set("type", YamlValue::string("object"));

  YamlValue properties = YamlValue::map();
  YamlValue required = YamlValue::list();
  for (int i = 0; i < message.field_count(); ++i) {
    const FieldDescriptor& field = *message.field(i);
    YamlValue property;
    if (std::string error = fieldSchema(field, property); !error.empty()) {
      return error;
    }
    properties.set(field.json_name(), std::move(property));
    if (field.options().GetExtension(weft::v1::rules).required()) {
      required.push(YamlValue::string(field.json_name()));
    }
  }
  if (!properties.entries().empty()) {
    out.set("properties", std::move(properties));
  }

  // Oneof members are plain sibling properties in JSON; a CEL rule counts the ones present
  // (or, where CEL would cost too much, an OpenAPI oneOf does). The loader refuses two
  // members of one oneof, and the validator demands one member of a required oneof.
  std::vector<std::string> oneof_texts;
  for (int i = 0; i < message.oneof_decl_count(); ++i) {
    const auto& oneof = *message.oneof_decl(i);
    if (oneof.is_synthetic()) {
      continue;  // proto3 `optional`: presence, not a choice.
    }
    const bool oneof_required = oneof.options().GetExtension(weft::v1::oneof_required);
    std::vector<std::string> names;
    std::string present;
    for (int j = 0; j < oneof.field_count(); ++j) {
      names.push_back(oneof.field(j)->json_name());
      present +=
          (j == 0 ? "" : ", ") + ("has(self." + celProperty(oneof.field(j)->json_name()) + ")");
    }
    if (names.size() == 1) {
      if (oneof_required) {
        required.push(YamlValue::string(names.front()));
      }
      continue;
    }
    const std::string rule_text =
        oneof_required ? "exactly one of " + joinNames(names, " and ") + " must be set"
                       : "at most one of " + joinNames(names, " and ") + " may be set";
    oneof_texts.push_back(rule_text);
    if (cardinality_ > kMaxOneofRuleCardinality) {
      if (!addOneOfSchema(out, names, oneof_required)) {
        return message.full_name() + ": more than one oneof where CEL is too costly";
      }
      continue;
    }
    const std::string rule =
        "[" + present + "].filter(x, x).size() " + (oneof_required ? "== 1" : "<= 1");
    if (std::string error = addRule(out, message.full_name(), rule, rule_text); !error.empty()) {
      return error;
    }
  }
  // The choice is part of the documentation, whichever way it is enforced.
  if (!oneof_texts.empty()) {
    std::string documented = text;
    for (const std::string& sentence : oneof_texts) {
      documented += (documented.empty() ? "" : "\n") + capitalized(sentence) + ".";
    }
    out.set("description", YamlValue::string(documented));
  }
  if (!required.items().empty()) {
    out.set("required", std::move(required));
  }
  for (const MessageCelRule& rule : rules_) {
    if (rule.message == message.full_name()) {
      if (std::string error = addRule(out, message.full_name(), rule.rule.rule, rule.rule.message);
          !error.empty()) {
        return error;
      }
    }
  }
  orderSchemaKeys(out);
  return {};
}

std::string OpenApiSchemaBuilder::fieldDescription(const FieldDescriptor& field) const {
  std::string text = comments_.of(field);
  if (text.empty() && field.message_type() != nullptr && !field.is_map()) {
    text = comments_.of(*field.message_type());
  }
  const FieldDescriptor* value_field = field.is_map() ? field.message_type()->map_value() : &field;
  if (value_field->enum_type() == nullptr) {
    return text;
  }
  const auto& enumeration = *value_field->enum_type();
  if (text.empty()) {
    text = comments_.of(enumeration);
  }
  // The values' own comments, one line each: `kubectl explain` is where users look them up.
  std::string values;
  for (int i = 0; i < enumeration.value_count(); ++i) {
    const std::string doc = comments_.of(*enumeration.value(i));
    if (!doc.empty()) {
      values += "\n" + enumeration.value(i)->name() + ": " + doc;
    }
  }
  if (text.empty() && !values.empty()) {
    return values.substr(1);
  }
  return text + values;
}

std::string OpenApiSchemaBuilder::fieldSchema(const FieldDescriptor& field, YamlValue& out) {
  const FieldRules& rules = field.options().GetExtension(weft::v1::rules);
  const std::string description = fieldDescription(field);
  if (field.is_map()) {
    const FieldDescriptor& key = *field.message_type()->map_key();
    const FieldDescriptor& value = *field.message_type()->map_value();
    YamlValue value_schema;
    const uint64_t outer = cardinality_;
    cardinality_ = timesEntries(outer, rules);
    std::string value_error = valueSchema(value, rules, Position::kMapValue, {}, value_schema);
    cardinality_ = outer;
    if (!value_error.empty()) {
      return value_error;
    }
    out = YamlValue::map();
    if (!description.empty()) {
      out.set("description", YamlValue::string(description));
    }
    out.set("type", YamlValue::string("object"));
    out.set("additionalProperties", std::move(value_schema));
    uint64_t min_entries = rules.has_min_items() ? rules.min_items() : 0;
    if (rules.required()) {
      min_entries = std::max<uint64_t>(min_entries, 1);
    }
    if (min_entries > 0) {
      out.set("minProperties", YamlValue::integer(static_cast<int64_t>(min_entries)));
    }
    if (rules.has_max_items()) {
      out.set("maxProperties", YamlValue::integer(static_cast<int64_t>(rules.max_items())));
    }
    // JSON object keys are strings; integer-keyed maps are written {"9080": ...}. The CEL
    // conversion fails (and so refuses the object) on a key that is no integer at all.
    if (isInteger(key)) {
      if (std::string error =
              addRule(out, field.full_name(), integerKeyRule(key), integerKeyMessage(key));
          !error.empty()) {
        return error;
      }
    }
    orderSchemaKeys(out);
    return {};
  }
  if (field.is_repeated()) {
    YamlValue items;
    const uint64_t outer = cardinality_;
    cardinality_ = timesEntries(outer, rules);
    std::string items_error = valueSchema(field, rules, Position::kListItem, {}, items);
    cardinality_ = outer;
    if (!items_error.empty()) {
      return items_error;
    }
    out = YamlValue::map();
    if (!description.empty()) {
      out.set("description", YamlValue::string(description));
    }
    // Items of messages keep their message's comment unless the list already says it.
    if (const YamlValue* item_text = items.find("description");
        item_text != nullptr && item_text->scalar() == description) {
      items.erase("description");
    }
    out.set("type", YamlValue::string("array"));
    out.set("items", std::move(items));
    uint64_t min_items = rules.has_min_items() ? rules.min_items() : 0;
    if (rules.required()) {
      min_items = std::max<uint64_t>(min_items, 1);
    }
    if (min_items > 0) {
      out.set("minItems", YamlValue::integer(static_cast<int64_t>(min_items)));
    }
    if (rules.has_max_items()) {
      out.set("maxItems", YamlValue::integer(static_cast<int64_t>(rules.max_items())));
    }
    // A set: the API server refuses duplicates (and server-side apply merges entries).
    if (rules.unique() && field.cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      out.set("x-kubernetes-list-type", YamlValue::string("set"));
    }
    orderSchemaKeys(out);
    return {};
  }
  if (std::string error = valueSchema(field, rules, Position::kSingular, description, out);
      !error.empty()) {
    return error;
  }
  // Messages took the description already (and may have added to it).
  if (!description.empty() && out.find("description") == nullptr) {
    out.set("description", YamlValue::string(description));
  }
  orderSchemaKeys(out);
  return {};
}

std::string OpenApiSchemaBuilder::valueSchema(const FieldDescriptor& field, const FieldRules& rules,
                                              Position position, const std::string& description,
                                              YamlValue& out) {
  if (field.cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
    return scalarSchema(field, field, rules, position,
                        field.has_presence() && position == Position::kSingular, out);
  }
  const Descriptor& type = *field.message_type();
  const std::string& name = type.full_name();
  // The validator bounds Durations and wrappers as singular fields and list items, not as
  // map values.
  const bool bounded = position != Position::kMapValue;
  FieldRules value_rules = rules;
  if (!bounded) {
    value_rules.clear_min();
    value_rules.clear_max();
  }
  if (name == "google.protobuf.Duration") {
    out = YamlValue::map();
    out.set("type", YamlValue::string("string"));
    out.set("maxLength", YamlValue::integer(static_cast<int64_t>(kDurationMaxLength)));
    out.set("pattern", YamlValue::string(std::string(kDurationPattern)));
    std::string rule;
    std::string message;
    if (durationBoundsRule(value_rules, rule, message)) {
      if (std::string error = addRule(out, field.full_name(), rule, message); !error.empty()) {
        return error;
      }
    }
    orderSchemaKeys(out);
    return {};
  }
  if (name == "google.protobuf.Timestamp") {
    out = YamlValue::map();
    out.set("type", YamlValue::string("string"));
    out.set("format", YamlValue::string("date-time"));
    return {};
  }
  if (name == "google.protobuf.Struct" || name == "google.protobuf.Empty") {
    out = YamlValue::map();
    out.set("type", YamlValue::string("object"));
    if (name == "google.protobuf.Struct") {
      out.set("x-kubernetes-preserve-unknown-fields", YamlValue::boolean(true));
    }
    return {};
  }
  if (name == "google.protobuf.Value") {
    out = YamlValue::map();
    out.set("x-kubernetes-preserve-unknown-fields", YamlValue::boolean(true));
    return {};
  }
  if (name == "google.protobuf.ListValue") {
    YamlValue any = YamlValue::map();
    any.set("x-kubernetes-preserve-unknown-fields", YamlValue::boolean(true));
    out = YamlValue::map();
    out.set("type", YamlValue::string("array"));
    out.set("items", std::move(any));
    return {};
  }
  if (name.rfind("google.protobuf.", 0) == 0 && name.size() > 5 &&
      name.compare(name.size() - 5, 5, "Value") == 0 && type.FindFieldByName("value") != nullptr) {
    // A wrapper is its wrapped scalar; it has presence, so its bounds hold for 0 too.
    return scalarSchema(*type.FindFieldByName("value"), field, value_rules, position,
                        /*has_presence=*/true, out);
  }
  if (name.rfind("google.protobuf.", 0) == 0) {
    return field.full_name() + ": " + name + " has no structural schema in this generator";
  }
  return messageSchema(type, description, out);
}

std::string OpenApiSchemaBuilder::scalarSchema(const FieldDescriptor& type_field,
                                               const FieldDescriptor& field,
                                               const FieldRules& rules, Position position,
                                               bool has_presence, YamlValue& out) {
  out = YamlValue::map();
  const std::string& where = field.full_name();
  // `required` forbids the zero value of a scalar, except for list items, where the
  // validator treats 0 as a value like any other.
  const bool forbid_zero = rules.required() && position != Position::kListItem;
  switch (type_field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      out.set("type", YamlValue::string("string"));
      if (type_field.type() == FieldDescriptor::TYPE_BYTES) {
        out.set("format", YamlValue::string("byte"));
      }
      uint64_t min_length = rules.has_min_len() ? rules.min_len() : 0;
      if (rules.required()) {
        min_length = std::max<uint64_t>(min_length, 1);
      }
      if (min_length > 0) {
        out.set("minLength", YamlValue::integer(static_cast<int64_t>(min_length)));
      }
      if (rules.has_max_len()) {
        out.set("maxLength", YamlValue::integer(static_cast<int64_t>(rules.max_len())));
      }
      if (!rules.pattern().empty()) {
        std::string anchored;
        if (std::string error = portablePattern(rules.pattern(), where, anchored); !error.empty()) {
          return error;
        }
        out.set("pattern", YamlValue::string(anchored));
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_BOOL:
      out.set("type", YamlValue::string("boolean"));
      if (rules.required()) {
        if (std::string error = addRule(out, where, "self", "must be true"); !error.empty()) {
          return error;
        }
      }
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      out.set("type", YamlValue::string("string"));
      YamlValue names = YamlValue::list();
      const auto& enumeration = *type_field.enum_type();
      for (int i = 0; i < enumeration.value_count(); ++i) {
        // `required` rejects the zero value wherever the enum sits.
        if (rules.required() && enumeration.value(i)->number() == 0) {
          continue;
        }
        names.push(YamlValue::string(enumeration.value(i)->name()));
      }
      out.set("enum", std::move(names));
      break;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
      out.set("type", YamlValue::string("number"));
      out.set("format", YamlValue::string(type_field.cpp_type() == FieldDescriptor::CPPTYPE_FLOAT
                                              ? "float"
                                              : "double"));
      if (rules.has_min()) {
        out.set("minimum", YamlValue::number(rules.min()));
      }
      if (rules.has_max()) {
        out.set("maximum", YamlValue::number(rules.max()));
      }
      if (forbid_zero && !has_presence) {
        if (std::string error = addRule(out, where, "self != 0.0", "must not be 0");
            !error.empty()) {
          return error;
        }
      }
      break;
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64: {
      const bool is_unsigned = isUnsigned(type_field);
      const bool is_32 = type_field.cpp_type() == FieldDescriptor::CPPTYPE_INT32 ||
                         type_field.cpp_type() == FieldDescriptor::CPPTYPE_UINT32;
      std::optional<double> minimum;
      std::optional<double> maximum;
      if (is_unsigned) {
        minimum = 0;
      }
      if (type_field.cpp_type() == FieldDescriptor::CPPTYPE_UINT32) {
        maximum = kUint32Max;
      }
      if (rules.has_min()) {
        minimum = minimum ? std::max(*minimum, std::ceil(rules.min())) : std::ceil(rules.min());
      }
      if (rules.has_max()) {
        maximum = maximum ? std::min(*maximum, std::floor(rules.max())) : std::floor(rules.max());
      }
      // Unsigned values: demanding non-zero is a minimum of 1.
      if (forbid_zero && !has_presence && is_unsigned) {
        minimum = std::max(minimum.value_or(0), 1.0);
      }
      out.set("type", YamlValue::string("integer"));
      // uint32 takes the 64-bit format unless its bounds fit 32 signed bits, so clients
      // generated from the schema can hold every value.
      const bool fits_int32 = is_32 && (!maximum || *maximum <= kInt32Max);
      out.set("format", YamlValue::string(fits_int32 ? "int32" : "int64"));
      if (minimum) {
        out.set("minimum", YamlValue::number(*minimum));
      }
      if (maximum) {
        out.set("maximum", YamlValue::number(*maximum));
      }
      if (forbid_zero && !has_presence && !is_unsigned && (!minimum || *minimum <= 0) &&
          (!maximum || *maximum >= 0)) {
        if (std::string error = addRule(out, where, "self != 0", "must not be 0"); !error.empty()) {
          return error;
        }
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return where + ": a message where a scalar was expected";
  }
  orderSchemaKeys(out);
  return {};
}

}  // namespace weft::controlplane::crd
