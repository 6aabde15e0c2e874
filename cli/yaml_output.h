#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>

namespace weft::cli {

// YAML text for Kubernetes manifests edited as yaml-cpp nodes.
//
// yaml-cpp's own emitter drops the quotes of a quoted scalar, so a label value "1", an
// annotation "true" or an image tag "1.0" would come back as a number or a boolean, which the
// API server refuses for a string field. Here a scalar that was quoted in the source (tag "!")
// or marked as text with setText() stays text: it is double-quoted whenever its plain form
// could read as anything else (a number, a boolean or null in YAML 1.1 or 1.2, which is what
// kubectl's parser follows). Plain scalars stay plain. Multi-line text becomes a literal block
// when that keeps it exactly, double-quoted otherwise. Maps and sequences are written in block
// style, keys in their order.
std::string emitYaml(const YAML::Node& node);

// Sets `node` to the text `value`, marked so that emitYaml keeps it text.
void setText(YAML::Node node, const std::string& value);

// A new scalar node holding the text `value`, marked likewise.
YAML::Node textNode(const std::string& value);

// Whether a plain scalar with this text could be read as something other than a string (a
// number, a boolean or null in YAML 1.1 or 1.2). Errs towards yes: a needless pair of quotes
// costs nothing.
bool plainWouldNotBeText(std::string_view text);

}  // namespace weft::cli
