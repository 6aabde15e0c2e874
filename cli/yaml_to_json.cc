#include "cli/yaml_to_json.h"

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace weft::cli {
namespace {

namespace json = boost::json;

constexpr int kMaxDepth = 512;
constexpr size_t kMaxValues = 1'000'000;

// go-yaml v2's table of words (resolve.go); the floats among them are not JSON.
enum class Word { kNone, kTrue, kFalse, kNull, kNotJson };

Word lookupWord(std::string_view text) {
  static constexpr std::array<std::string_view, 11> kTrue = {
      "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"};
  static constexpr std::array<std::string_view, 11> kFalse = {
      "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"};
  static constexpr std::array<std::string_view, 4> kNull = {"~", "null", "Null", "NULL"};
  static constexpr std::array<std::string_view, 12> kNotJson = {".nan",  ".NaN",  ".NAN",  ".inf",
                                                                ".Inf",  ".INF",  "+.inf", "+.Inf",
                                                                "+.INF", "-.inf", "-.Inf", "-.INF"};
  auto in = [text](const auto& words) {
    for (std::string_view word : words) {
      if (word == text) {
        return true;
      }
    }
    return false;
  };
  if (in(kTrue)) {
    return Word::kTrue;
  }
  if (in(kFalse)) {
    return Word::kFalse;
  }
  if (in(kNull)) {
    return Word::kNull;
  }
  return in(kNotJson) ? Word::kNotJson : Word::kNone;
}

int digitValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return 99;
}

// The magnitude of an unsigned number in Go's base-0 syntax (0x, 0o, 0b, leading 0: octal).
std::optional<uint64_t> parseGoMagnitude(std::string_view digits) {
  int base = 10;
  if (digits.size() >= 2 && digits[0] == '0') {
    const char prefix = digits[1];
    if (prefix == 'x' || prefix == 'X') {
      base = 16;
      digits.remove_prefix(2);
    } else if (prefix == 'o' || prefix == 'O') {
      base = 8;
      digits.remove_prefix(2);
    } else if (prefix == 'b' || prefix == 'B') {
      base = 2;
      digits.remove_prefix(2);
    } else {
      base = 8;
      digits.remove_prefix(1);
    }
  }
  if (digits.empty()) {
    return std::nullopt;
  }
  uint64_t value = 0;
  for (char c : digits) {
    const int digit = digitValue(c);
    if (digit >= base) {
      return std::nullopt;
    }
    if (value > (UINT64_MAX - static_cast<uint64_t>(digit)) / static_cast<uint64_t>(base)) {
      return std::nullopt;
    }
    value = value * static_cast<uint64_t>(base) + static_cast<uint64_t>(digit);
  }
  return value;
}

// strconv.ParseInt(text, 0, 64), then strconv.ParseUint(text, 0, 64), as resolve.go tries them.
bool parseGoInteger(std::string_view text, json::value& out) {
  const bool negative = !text.empty() && text.front() == '-';
  const bool sign = !text.empty() && (negative || text.front() == '+');
  const std::optional<uint64_t> magnitude = parseGoMagnitude(text.substr(sign ? 1 : 0));
  if (!magnitude) {
    return false;
  }
  constexpr uint64_t kInt64Max = static_cast<uint64_t>(INT64_MAX);
  if (negative) {
    if (*magnitude > kInt64Max + 1) {
      return false;
    }
    out = *magnitude == kInt64Max + 1 ? INT64_MIN : -static_cast<int64_t>(*magnitude);
    return true;
  }
  if (*magnitude <= kInt64Max) {
    out = static_cast<int64_t>(*magnitude);
    return true;
  }
  if (sign) {
    return false;  // ParseUint takes no sign
  }
  out = *magnitude;
  return true;
}

// resolve.go's yamlStyleFloat: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
bool isYamlStyleFloat(std::string_view text) {
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      ++i;
    }
    return i - start;
  };
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
    ++i;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (digits() == 0) {
      return false;
    }
  } else {
    if (digits() == 0) {
      return false;
    }
    if (i < text.size() && text[i] == '.') {
      ++i;
      digits();
    }
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
      ++i;
    }
    if (digits() == 0) {
      return false;
    }
  }
  return i == text.size();
}

// strconv.ParseFloat on text that passed isYamlStyleFloat: an overflow is an error (then the
// scalar is a string), an underflow is zero.
bool parseGoFloat(std::string_view text, json::value& out) {
  const std::string copy(text);
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || (errno == ERANGE && std::isinf(value))) {
    return false;
  }
  out = value;
  return true;
}

// An explicit core tag, !!int and the like, resolved as go-yaml does (the value must fit).
enum class CoreTag { kNone, kString, kInt, kFloat, kBool, kNull, kBinary };

CoreTag coreTag(const std::string& tag) {
  static constexpr std::string_view kPrefix = "tag:yaml.org,2002:";
  if (tag.rfind(kPrefix, 0) != 0) {
    return CoreTag::kNone;
  }
  const std::string_view name = std::string_view(tag).substr(kPrefix.size());
  if (name == "str") {
    return CoreTag::kString;
  }
  if (name == "int") {
    return CoreTag::kInt;
  }
  if (name == "float") {
    return CoreTag::kFloat;
  }
  if (name == "bool") {
    return CoreTag::kBool;
  }
  if (name == "null") {
    return CoreTag::kNull;
  }
  return name == "binary" ? CoreTag::kBinary : CoreTag::kNone;
}

class Converter {
 public:
  bool convert(const YAML::Node& node, json::value& out, std::string& path, int depth) {
    if (++values_ > kMaxValues) {
      return fail(path, "more than a million values (aliases expanding without bound?)");
    }
    if (depth > kMaxDepth) {
      return fail(path, "nested more than 512 levels deep");
    }
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        out = nullptr;
        return true;
      case YAML::NodeType::Scalar:
        return scalar(node, out, path);
      case YAML::NodeType::Sequence: {
        json::array& array = out.emplace_array();
        array.reserve(node.size());
        size_t index = 0;
        for (const YAML::Node& item : node) {
          const size_t mark = path.size();
          path += "[" + std::to_string(index++) + "]";
          if (!convert(item, array.emplace_back(nullptr), path, depth + 1)) {
            return false;
          }
          path.resize(mark);
        }
        return true;
      }
      case YAML::NodeType::Map:
        return map(node, out.emplace_object(), path, depth);
    }
    return true;
  }

  const std::string& error() const { return error_; }

 private:
  bool fail(const std::string& path, const std::string& message) {
    error_ = (path.empty() ? std::string("the document") : path) + ": " + message;
    return false;
  }

  bool scalar(const YAML::Node& node, json::value& out, const std::string& path) {
    const std::string& text = node.Scalar();
    const std::string& tag = node.Tag();
    if (tag == "!") {  // quoted, or a block scalar
      out = text;
      return true;
    }
    const CoreTag core = coreTag(tag);
    if (tag != "?" && core == CoreTag::kNone) {
      out = text;  // a local tag (!foo): go-yaml keeps the text
      return true;
    }
    if (core == CoreTag::kString) {
      out = text;
      return true;
    }
    if (core == CoreTag::kBinary) {
      return fail(path, "!!binary values are not supported; give the text");
    }
    if (!resolvePlainScalar(text, out)) {
      return fail(path, text + " is not a number JSON can hold (infinity or NaN)");
    }
    const bool fits =
        core == CoreTag::kNone || (core == CoreTag::kInt && out.is_number() && !out.is_double()) ||
        (core == CoreTag::kFloat && out.is_number()) || (core == CoreTag::kBool && out.is_bool()) ||
        (core == CoreTag::kNull && out.is_null());
    if (!fits) {
      return fail(path, "\"" + text + "\" does not fit its tag " + tag);
    }
    if (core == CoreTag::kFloat && !out.is_double()) {
      out = out.is_int64() ? static_cast<double>(out.get_int64())
                           : static_cast<double>(out.get_uint64());
    }
    return true;
  }

  // The JSON key for a map key, as sigs.k8s.io/yaml's convertToJSONableObject makes it.
  bool key(const YAML::Node& node, std::string& out, const std::string& path) {
    if (!node.IsScalar()) {
      return fail(path, node.IsNull() ? "a null map key" : "a map key that is not a scalar");
    }
    json::value value;
    if (!scalar(node, value, path)) {
      return false;
    }
    if (value.is_string()) {
      out = value.get_string();
    } else if (value.is_bool()) {
      out = value.get_bool() ? "true" : "false";
    } else if (value.is_int64()) {
      out = std::to_string(value.get_int64());
    } else if (value.is_uint64()) {
      out = std::to_string(value.get_uint64());
    } else if (value.is_null()) {
      return fail(path, "a null map key");
    } else {
      return fail(path, "map key " + node.Scalar() + " is a fractional number; quote it");
    }
    return true;
  }

  static std::string child(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  bool map(const YAML::Node& node, json::object& object, std::string& path, int depth) {
    std::vector<YAML::Node> merges;
    for (const auto& entry : node) {
      if (entry.first.IsScalar() && entry.first.Tag() == "?" && entry.first.Scalar() == "<<") {
        merges.push_back(entry.second);
        continue;
      }
      std::string name;
      if (!key(entry.first, name, path)) {
        return false;
      }
      if (object.contains(name)) {
        return fail(child(path, name), "the key appears twice");
      }
      std::string child_path = child(path, name);
      if (!convert(entry.second, object[name], child_path, depth + 1)) {
        return false;
      }
    }
    // Merged keys never replace the map's own; of several merged maps the first wins.
    for (const YAML::Node& merge : merges) {
      const std::string merge_path = child(path, "<<");
      std::vector<YAML::Node> sources;
      if (merge.IsMap()) {
        sources.push_back(merge);
      } else if (merge.IsSequence()) {
        for (const YAML::Node& item : merge) {
          if (!item.IsMap()) {
            return fail(merge_path, "a merge list may hold only maps");
          }
          sources.push_back(item);
        }
      } else {
        return fail(merge_path, "a merge key takes a map or a list of maps");
      }
      for (const YAML::Node& source : sources) {
        json::value merged;
        std::string source_path = merge_path;
        if (!convert(source, merged, source_path, depth + 1)) {
          return false;
        }
        for (auto& [name, value] : merged.get_object()) {
          if (!object.contains(name)) {
            object.emplace(name, std::move(value));
          }
        }
      }
    }
    return true;
  }

  size_t values_ = 0;
  std::string error_;
};

}  // namespace

bool resolvePlainScalar(std::string_view text, json::value& out) {
  if (text.empty()) {
    out = nullptr;
    return true;
  }
  switch (lookupWord(text)) {
    case Word::kTrue:
      out = true;
      return true;
    case Word::kFalse:
      out = false;
      return true;
    case Word::kNull:
      out = nullptr;
      return true;
    case Word::kNotJson:
      return false;
    case Word::kNone:
      break;
  }
  const char first = text.front();
  if (first == '.') {
    // strconv.ParseFloat, which needs digits after the point here.
    if (isYamlStyleFloat(text) && parseGoFloat(text, out)) {
      return true;
    }
  } else if ((first >= '0' && first <= '9') || first == '-' || first == '+') {
    std::string plain;
    for (char c : text) {
      if (c != '_') {
        plain += c;
      }
    }
    if (parseGoInteger(plain, out)) {
      return true;
    }
    if (isYamlStyleFloat(plain) && parseGoFloat(plain, out)) {
      return true;
    }
  }
  out = std::string(text);
  return true;
}

bool yamlToJson(const YAML::Node& node, json::value& out, std::string& error) {
  Converter converter;
  std::string path;
  json::value result;
  if (!converter.convert(node, result, path, 0)) {
    error = converter.error();
    return false;
  }
  out = std::move(result);
  return true;
}

}  // namespace weft::cli
