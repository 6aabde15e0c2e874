#include "controlplane/source/manifest_fields.h"

#include <charconv>
#include <set>

#include "common/config/field_path.h"

namespace weft::controlplane {

void DocumentErrors::add(const YAML::Node& at, std::string field_path, std::string reason) {
  if (errors_.size() >= config::kMaxReportedErrors) {
    return;
  }
  int line = 0;
  int column = 0;
  if (at.IsDefined() && !at.Mark().is_null()) {
    line = at.Mark().line + 1 + line_offset_;
    column = at.Mark().column + 1;
  }
  errors_.push_back(
      config::ConfigError{source_, std::move(field_path), line, column, std::move(reason)});
}

void DocumentErrors::addLoaded(config::ConfigErrors errors) {
  for (config::ConfigError& error : errors) {
    if (errors_.size() >= config::kMaxReportedErrors) {
      return;
    }
    if (error.line > 0) {
      error.line += line_offset_;
    }
    errors_.push_back(std::move(error));
  }
}

std::string_view nodeKindName(const YAML::Node& node) {
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

std::string quoted(std::string_view text) {
  constexpr size_t kShown = 80;
  if (text.size() <= kShown) {
    return "'" + std::string(text) + "'";
  }
  return "'" + std::string(text.substr(0, kShown)) + "...'";
}

std::string unknownFieldReason(std::string_view name, std::string_view where,
                               std::initializer_list<std::string_view> known) {
  std::string reason =
      "unknown field " + quoted(name) + " in " + std::string(where) + " (expected one of: ";
  bool first = true;
  for (std::string_view field : known) {
    reason += first ? "" : ", ";
    reason += field;
    first = false;
  }
  return reason + ")";
}

std::vector<MapEntry> mapEntries(const YAML::Node& map, const std::string& path,
                                 DocumentErrors& errors) {
  std::vector<MapEntry> entries;
  std::set<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    // Copies, not references: yaml-cpp's iterator hands out a temporary pair.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) {
      errors.add(key, path, "keys must be strings, found " + std::string(nodeKindName(key)));
      continue;
    }
    if (!seen.insert(key.Scalar()).second) {
      errors.add(key, path.empty() ? key.Scalar() : config::appendField(path, key.Scalar()),
                 "field is given more than once");
      continue;
    }
    entries.push_back(MapEntry{key.Scalar(), key, value});
  }
  return entries;
}

bool isPlainScalar(const YAML::Node& node) {
  return node.IsScalar() && node.Tag() == "?";
}

std::optional<std::string> readString(const YAML::Node& node, const std::string& path,
                                      DocumentErrors& errors) {
  if (node.IsNull()) {
    errors.add(node, path, "has no value (give one, or remove the key)");
    return std::nullopt;
  }
  if (!node.IsScalar()) {
    errors.add(node, path, "expected a string, found " + std::string(nodeKindName(node)));
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<int64_t> readInteger(const YAML::Node& node, const std::string& path, int64_t min,
                                   int64_t max, DocumentErrors& errors) {
  if (!node.IsScalar() || !isPlainScalar(node)) {
    errors.add(
        node, path,
        "expected an integer, found " + (node.IsScalar() ? "the string " + quoted(node.Scalar())
                                                         : std::string(nodeKindName(node))));
    return std::nullopt;
  }
  const std::string& text = node.Scalar();
  int64_t value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  if (begin != end && *begin == '+') {
    ++begin;
  }
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec == std::errc::result_out_of_range ||
      (ec == std::errc() && ptr == end && (value < min || value > max))) {
    errors.add(node, path,
               "value " + quoted(text) + " is out of range (" + std::to_string(min) + ".." +
                   std::to_string(max) + ")");
    return std::nullopt;
  }
  if (ec != std::errc() || ptr != end || begin == end) {
    errors.add(node, path, "expected an integer, got " + quoted(text));
    return std::nullopt;
  }
  return value;
}

std::vector<StringEntry> readStringMap(const YAML::Node& node, const std::string& path,
                                       DocumentErrors& errors) {
  std::vector<StringEntry> out;
  if (node.IsNull()) {
    return out;
  }
  if (!node.IsMap()) {
    errors.add(node, path, "expected a map of strings, found " + std::string(nodeKindName(node)));
    return out;
  }
  for (const MapEntry& entry : mapEntries(node, path, errors)) {
    const std::string entry_path = config::appendKey(path, entry.name);
    if (entry.value.IsNull()) {
      // Kubernetes rejects null here too; an empty value is written "".
      errors.add(entry.key, entry_path, "has no value (write \"\" for an empty string)");
      continue;
    }
    if (!entry.value.IsScalar()) {
      errors.add(entry.value, entry_path,
                 "expected a string, found " + std::string(nodeKindName(entry.value)));
      continue;
    }
    out.push_back(StringEntry{entry.name, entry.value.Scalar(), entry.key});
  }
  return out;
}

}  // namespace weft::controlplane
