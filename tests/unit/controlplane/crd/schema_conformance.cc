#include "tests/unit/controlplane/crd/schema_conformance.h"

#include <charconv>
#include <regex>
#include <set>

namespace weft::controlplane::crd {
namespace {

// What a plain (unquoted) scalar is to a YAML 1.1 reader such as Kubernetes' (go-yaml).
enum class PlainType { kNull, kBool, kInt, kFloat, kString };

PlainType plainType(const std::string& text) {
  static const std::regex kNull("~|null|Null|NULL|");
  static const std::regex kBool(
      "y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF");
  static const std::regex kInt("[-+]?(0|[1-9][0-9_]*)|0x[0-9a-fA-F_]+|0o?[0-7_]+");
  static const std::regex kFloat(
      "[-+]?([0-9][0-9_]*)?\\.[0-9_]*([eE][-+][0-9]+)?|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)");
  if (std::regex_match(text, kNull)) {
    return PlainType::kNull;
  }
  if (std::regex_match(text, kBool)) {
    return PlainType::kBool;
  }
  if (std::regex_match(text, kInt)) {
    return PlainType::kInt;
  }
  if (std::regex_match(text, kFloat) && text != ".") {
    return PlainType::kFloat;
  }
  return PlainType::kString;
}

bool isPlain(const YAML::Node& node) {
  return node.Tag() == "?";
}

bool parseNumber(const std::string& text, double& out) {
  const char* begin = text.data();
  if (!text.empty() && text.front() == '+') {
    ++begin;
  }
  const auto result = std::from_chars(begin, text.data() + text.size(), out);
  return result.ec == std::errc() && result.ptr == text.data() + text.size();
}

// Unicode code points of UTF-8 text, as Kubernetes counts string lengths.
size_t codePoints(const std::string& text) {
  size_t count = 0;
  for (char c : text) {
    count += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  }
  return count;
}

// A oneOf/anyOf/not branch: only `required`, `not` and `anyOf` occur in the generated ones.
bool branchHolds(const YAML::Node& value, const YAML::Node& branch) {
  if (const YAML::Node required = branch["required"]) {
    for (const YAML::Node& name : required) {
      if (!value.IsMap() || !value[name.as<std::string>()]) {
        return false;
      }
    }
  }
  if (const YAML::Node any_of = branch["anyOf"]) {
    bool any = false;
    for (const YAML::Node& alternative : any_of) {
      any = any || branchHolds(value, alternative);
    }
    if (!any) {
      return false;
    }
  }
  if (const YAML::Node negated = branch["not"]) {
    if (branchHolds(value, negated)) {
      return false;
    }
  }
  return true;
}

void fail(std::vector<std::string>& problems, const std::string& path, const std::string& what) {
  problems.push_back((path.empty() ? "<root>" : path) + ": " + what);
}

void checkScalar(const YAML::Node& value, const YAML::Node& schema, const std::string& type,
                 const std::string& path, std::vector<std::string>& problems) {
  if (!value.IsScalar()) {
    fail(problems, path, "expected a " + type);
    return;
  }
  const std::string& text = value.Scalar();
  const PlainType read_as = isPlain(value) ? plainType(text) : PlainType::kString;
  if (type == "string") {
    if (read_as != PlainType::kString) {
      fail(problems, path, "\"" + text + "\" is not a string to Kubernetes' YAML reader; quote it");
      return;
    }
    if (const YAML::Node enumeration = schema["enum"]) {
      bool found = false;
      for (const YAML::Node& allowed : enumeration) {
        found = found || allowed.as<std::string>() == text;
      }
      if (!found) {
        fail(problems, path, "\"" + text + "\" is not one of the enum values");
      }
    }
    if (schema["minLength"] && codePoints(text) < schema["minLength"].as<size_t>()) {
      fail(problems, path, "shorter than minLength");
    }
    if (schema["maxLength"] && codePoints(text) > schema["maxLength"].as<size_t>()) {
      fail(problems, path, "longer than maxLength");
    }
    if (schema["pattern"] &&
        !std::regex_search(
            text, std::regex(schema["pattern"].as<std::string>(), std::regex::ECMAScript))) {
      fail(problems, path,
           "\"" + text + "\" does not match " + schema["pattern"].as<std::string>());
    }
    return;
  }
  if (type == "boolean") {
    if (read_as != PlainType::kBool) {
      fail(problems, path, "expected true or false");
    }
    return;
  }
  double number = 0;
  const bool numeric =
      (read_as == PlainType::kInt || (type == "number" && read_as == PlainType::kFloat)) &&
      parseNumber(text, number);
  if (!numeric) {
    fail(problems, path, "\"" + text + "\" is not an unquoted " + type);
    return;
  }
  if (schema["minimum"] && number < schema["minimum"].as<double>()) {
    fail(problems, path, text + " is below the minimum");
  }
  if (schema["maximum"] && number > schema["maximum"].as<double>()) {
    fail(problems, path, text + " is above the maximum");
  }
}

}  // namespace

void checkConformance(const YAML::Node& value, const YAML::Node& schema, const std::string& path,
                      std::vector<std::string>& problems) {
  if (schema["x-kubernetes-preserve-unknown-fields"] && !schema["properties"]) {
    return;
  }
  const std::string type = schema["type"] ? schema["type"].as<std::string>() : "";
  if (const YAML::Node branches = schema["oneOf"]) {
    size_t holding = 0;
    for (const YAML::Node& branch : branches) {
      holding += branchHolds(value, branch) ? 1 : 0;
    }
    if (holding != 1) {
      fail(problems, path,
           "must satisfy exactly one oneOf branch, satisfies " + std::to_string(holding));
    }
  }
  if (type == "object") {
    if (!value.IsMap()) {
      fail(problems, path, "expected a map");
      return;
    }
    const YAML::Node properties = schema["properties"];
    const YAML::Node additional = schema["additionalProperties"];
    for (auto it = value.begin(); it != value.end(); ++it) {
      const std::string key = it->first.as<std::string>();
      const std::string child_path = path.empty() ? key : path + "." + key;
      if (properties && properties[key]) {
        checkConformance(it->second, properties[key], child_path, problems);
      } else if (additional) {
        checkConformance(it->second, additional, child_path, problems);
      } else if (properties) {
        fail(problems, child_path, "unknown field (the API server would drop it)");
      }
    }
    if (const YAML::Node required = schema["required"]) {
      for (const YAML::Node& name : required) {
        if (!value[name.as<std::string>()]) {
          fail(problems, path, "missing required field " + name.as<std::string>());
        }
      }
    }
    if (schema["minProperties"] && value.size() < schema["minProperties"].as<size_t>()) {
      fail(problems, path, "fewer entries than minProperties");
    }
    if (schema["maxProperties"] && value.size() > schema["maxProperties"].as<size_t>()) {
      fail(problems, path, "more entries than maxProperties");
    }
    return;
  }
  if (type == "array") {
    if (!value.IsSequence()) {
      fail(problems, path, "expected a list");
      return;
    }
    if (schema["minItems"] && value.size() < schema["minItems"].as<size_t>()) {
      fail(problems, path, "fewer items than minItems");
    }
    if (schema["maxItems"] && value.size() > schema["maxItems"].as<size_t>()) {
      fail(problems, path, "more items than maxItems");
    }
    std::set<std::string> seen;
    const bool is_set = schema["x-kubernetes-list-type"] &&
                        schema["x-kubernetes-list-type"].as<std::string>() == "set";
    for (size_t i = 0; i < value.size(); ++i) {
      const std::string item_path = path + "[" + std::to_string(i) + "]";
      checkConformance(value[i], schema["items"], item_path, problems);
      if (is_set && value[i].IsScalar() && !seen.insert(value[i].Scalar()).second) {
        fail(problems, item_path, "duplicate entry in a set");
      }
    }
    return;
  }
  if (!type.empty()) {
    checkScalar(value, schema, type, path, problems);
  }
}

}  // namespace weft::controlplane::crd
