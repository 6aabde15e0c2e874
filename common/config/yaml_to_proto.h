#pragma once

#include <google/protobuf/message.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "common/config/config_error.h"

namespace YAML {
class Node;
}

namespace weft::config {

// Limits that keep hostile or broken input from costing unbounded time or memory.
struct YamlLimits {
  size_t max_document_bytes = 16 * 1024 * 1024;
  // Nodes visited, counting every expansion of a YAML alias: stops "billion
  // laughs" documents, whose aliases would otherwise multiply the work.
  size_t max_nodes = 1'000'000;
  // Nesting of YAML collections below the root.
  int max_depth = 64;
  // Field names and map keys (labels, metadata) longer than this are errors.
  size_t max_key_bytes = 1024;
  // Bytes of field paths remembered for error positions: with long keys nested
  // deep, paths could otherwise cost far more memory than the document itself.
  size_t max_path_bytes = 64 * 1024 * 1024;
};

// Reads configuration written as YAML into a protobuf message.
//
// The mapping follows protobuf's JSON mapping so the same text works as JSON:
// keys are proto field names (snake_case) or their lowerCamelCase JSON names,
// enums are written by name, wrapper types as plain scalars, google.protobuf.Any
// as a map with an "@type" key, Struct/Value as free-form YAML. Durations are
// friendlier than in JSON: "250ms", "1.5s", "1h30m" (see duration_text.h).
//
// Nothing is ignored: unknown fields, duplicate keys, wrong types, out-of-range
// numbers, two members of a oneof and empty values are errors. After a clean parse the
// message is checked against its declared rules (proto_validator.h). Every error
// names the source, the line and column, and the field path.
//
// `out` is cleared first; on error its contents are unspecified.
ConfigErrors loadYaml(std::string_view text, std::string_view source_name,
                      google::protobuf::Message& out, const YamlLimits& limits = {});

// Checks a caller adds to the declared rules, for what a schema cannot say: a regular
// expression that must compile, a field required only together with another. Returns errors
// whose field paths are relative to the message; the loader prefixes and positions them.
using MessageCheck = std::function<ConfigErrors(const google::protobuf::Message&)>;

// Loads one node of an already parsed YAML document into `out`: the `spec` of a Kubernetes
// manifest, whose envelope (apiVersion, kind, metadata) the caller reads itself. Same rules as
// loadYaml and the same limits, counted from this node (max_document_bytes applies to text,
// so the caller checks it when parsing). Positions are those of the node's document; field
// paths start with `path_prefix`, e.g. "spec" gives "spec.rules[0].timeout". After a clean
// parse, `out` is validated and `check`, if given, runs on it as well.
ConfigErrors loadYamlNode(const YAML::Node& node, std::string_view source_name,
                          std::string_view path_prefix, google::protobuf::Message& out,
                          const YamlLimits& limits = {}, const MessageCheck& check = {});

// Reads a config file whole into `text`; unreadable files and files larger than
// limits.max_document_bytes are errors (checked before reading).
ConfigErrors readConfigFile(const std::string& path, std::string& text,
                            const YamlLimits& limits = {});

// Reads and loads a YAML file; unreadable or oversized files are errors too.
ConfigErrors loadYamlFile(const std::string& path, google::protobuf::Message& out,
                          const YamlLimits& limits = {});

}  // namespace weft::config
