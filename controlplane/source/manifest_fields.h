#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/config_error.h"

namespace weft::controlplane {

// Helpers for the parts of a manifest read by hand rather than into a protobuf message: the
// envelope (apiVersion, kind, metadata) and core/v1 Service, whose Kubernetes field types
// (int-or-string ports, fields the mesh ignores) a strict proto mapping cannot express.

// The errors of one document, positioned in its file. A document is parsed on its own, so
// yaml-cpp's line numbers start at its first line; `line_offset` (0-based line of that first
// line in the file) turns them into lines of the file.
class DocumentErrors {
 public:
  DocumentErrors(std::string_view source, int line_offset)
      : source_(source), line_offset_(line_offset) {}

  // A problem at `at` (whose position is used when it has one).
  void add(const YAML::Node& at, std::string field_path, std::string reason);

  // Errors from the YAML-to-proto loader, which ran on a node of this document.
  void addLoaded(config::ConfigErrors errors);

  bool empty() const { return errors_.empty(); }
  size_t size() const { return errors_.size(); }
  config::ConfigErrors take() { return std::move(errors_); }

 private:
  std::string source_;
  int line_offset_ = 0;
  config::ConfigErrors errors_;
};

// One entry of a YAML map.
struct MapEntry {
  std::string name;
  YAML::Node key;
  YAML::Node value;
};

// The entries of a YAML map in written order. Keys that are not scalars and keys given twice
// are errors, and those entries are left out.
std::vector<MapEntry> mapEntries(const YAML::Node& map, const std::string& path,
                                 DocumentErrors& errors);

// "a map", "a list", "a scalar", "null": what a node is, for messages.
std::string_view nodeKindName(const YAML::Node& node);

// A key or value quoted for a message, shortened when long.
std::string quoted(std::string_view text);

// "unknown field 'x' in <where> (expected one of: a, b, c)".
std::string unknownFieldReason(std::string_view name, std::string_view where,
                               std::initializer_list<std::string_view> known);

// A string value: a non-null scalar. Otherwise reports an error and returns nothing.
std::optional<std::string> readString(const YAML::Node& node, const std::string& path,
                                      DocumentErrors& errors);

// An integer written as a plain (unquoted) scalar, within [min, max].
std::optional<int64_t> readInteger(const YAML::Node& node, const std::string& path, int64_t min,
                                   int64_t max, DocumentErrors& errors);

// Plain scalars are untagged ("?"); quoted and block scalars are strings ("!"). Kubernetes
// reads YAML as JSON, where `8080` is a number and `"8080"` a string; this tells them apart.
bool isPlainScalar(const YAML::Node& node);

// An entry of a map of strings to strings, with the node of its key for positions.
struct StringEntry {
  std::string key;
  std::string value;
  YAML::Node key_node;
};

// A map of strings to strings (labels, annotations, a selector); null is an empty map.
// Values must be scalars.
std::vector<StringEntry> readStringMap(const YAML::Node& node, const std::string& path,
                                       DocumentErrors& errors);

}  // namespace weft::controlplane
