#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace weft::controlplane::crd {

// Checks a manifest (parsed YAML) against a CRD's structural OpenAPI schema the way the API
// server's schema validation would: types (reading plain YAML scalars as YAML 1.1 does, so
// an unquoted `9080` meant as a string is caught), enums, bounds, lengths, patterns (with
// std::regex ECMAScript), item and property counts, sets, required fields, oneOf branches
// made of `required`/`not`/`anyOf`, and unknown fields, which the API server would drop
// without a word. CEL rules are not evaluated.
//
// Appends one "path: problem" line per violation to `problems`.
void checkConformance(const YAML::Node& value, const YAML::Node& schema, const std::string& path,
                      std::vector<std::string>& problems);

}  // namespace weft::controlplane::crd
