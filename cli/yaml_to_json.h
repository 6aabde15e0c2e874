#pragma once

#include <yaml-cpp/yaml.h>

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

namespace weft::cli {

// YAML as Kubernetes reads it (kubectl and the API server: sigs.k8s.io/yaml, which follows
// go-yaml v2's YAML 1.1 rules), turned into the JSON the API works on.
//
// yaml-cpp leaves scalars untyped; what a plain (unquoted) scalar means is decided here:
// null (empty, ~, null, Null, NULL), booleans (true, yes, on, y and their capitalised forms,
// and the false ones), integers as Go's strconv.ParseInt reads them after dropping "_"
// (decimal, 0x, 0o, 0b, and a leading 0 for octal: 0755 is 493), then floats (1.5, 1e3, .5,
// and 08, which is no octal number but is a float). Everything else, and every quoted or block
// scalar, is a string. Timestamps stay strings, as go-yaml hands them to an untyped target.

// The JSON value of a plain scalar. False for the floats JSON cannot hold (.inf, .nan), which
// kubectl refuses too.
bool resolvePlainScalar(std::string_view text, boost::json::value& out);

// Converts one document. Map keys become strings the way sigs.k8s.io/yaml makes them (true ->
// "true", 0x10 -> "16"); "<<" merges a map (or a list of maps) as go-yaml does; aliases are
// expanded. On input Kubernetes would refuse or read otherwise (a duplicate key, a null or a
// fractional key, .inf, an explicit tag that does not fit its value), returns false with
// `error` naming the field ("spec.template.spec.containers[0].ports[0].containerPort: ...").
// Bounded: nesting deeper than 512 and more than a million values (an alias bomb) are errors.
bool yamlToJson(const YAML::Node& node, boost::json::value& out, std::string& error);

}  // namespace weft::cli
