#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::controlplane::crd {

// A YAML value built in memory and written out in one go: a scalar, an ordered map or a list.
//
// The CRDs are written with this rather than yaml-cpp's emitter because the output must be
// read the same way by every consumer: Kubernetes reads YAML 1.1, where an unquoted `True`,
// `on` or `1e3` is not a string, and yaml-cpp's emitter leaves such strings unquoted. Here a
// string is written plain only when no YAML version can take it for anything else.
class YamlValue {
 public:
  enum class Kind { kString, kNumber, kBool, kMap, kList };

  // An empty map.
  YamlValue() : kind_(Kind::kMap) {}

  static YamlValue string(std::string text);
  static YamlValue integer(int64_t value);
  // Integral values are written without a fraction; others in the shortest fixed notation
  // that reads back as the same double (never with an exponent, which YAML 1.1 reads as a
  // string when the mantissa has no dot).
  static YamlValue number(double value);
  static YamlValue boolean(bool value);
  static YamlValue map();
  static YamlValue list();
  static YamlValue stringList(std::initializer_list<std::string_view> items);

  Kind kind() const { return kind_; }
  // The text of a scalar: the string itself, or a number's or bool's YAML form.
  const std::string& scalar() const { return scalar_; }

  // Map access. set() replaces the value of an existing key in place, else appends.
  YamlValue& set(std::string_view key, YamlValue value);
  bool erase(std::string_view key);
  const YamlValue* find(std::string_view key) const;
  YamlValue* find(std::string_view key);
  const std::vector<std::pair<std::string, YamlValue>>& entries() const { return entries_; }
  // Puts the keys found in `order` first, in that order; other keys keep their order after.
  void orderKeys(const std::vector<std::string_view>& order);

  // List access.
  YamlValue& push(YamlValue value);
  const std::vector<YamlValue>& items() const { return items_; }

 private:
  YamlValue(Kind kind, std::string scalar) : kind_(kind), scalar_(std::move(scalar)) {}

  Kind kind_;
  std::string scalar_;
  std::vector<std::pair<std::string, YamlValue>> entries_;
  std::vector<YamlValue> items_;
};

// Block-style YAML text of `value`, ending with a newline. Maps and lists nest by two spaces.
std::string writeYaml(const YamlValue& value);

}  // namespace weft::controlplane::crd
