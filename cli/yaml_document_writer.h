#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <string>
#include <string_view>

#include "cli/yaml_stream.h"

namespace weft::cli {

// Writes a document that was read from YAML, converted to JSON (yamlToJson) and changed, as
// YAML again, looking as much like the original as it can:
//
// - the piece's text before the document's first line (its "---", comments, directives) and
//   after its last line (comments, "...") is copied verbatim;
// - keys keep their order, new keys come after them; lists keep their order, and an item is
//   recognised in its new place by its value, or, for a changed one, by its "name";
// - a value that did not change is written as it was in the source when that was one line
//   (08, 'text', "x\ty" stay as they were); a new or changed one is written plain only when
//   Kubernetes (YAML 1.1) and YAML 1.2 parsers read it back as the same JSON, quoted otherwise
//   ("on", "1337", "1e3", "~"), and text of several lines is a literal block when that keeps it
//   exactly;
// - comments on their own lines go before the key or list item they preceded, re-indented;
//   comments after a value stay after it; blank lines between entries stay;
// - block style throughout, with the document's own indentation and style of nested lists
//   (indented under their key, or level with it as kubectl writes them).
//
// Comments of a value that the change removed cannot be placed; they are counted.
struct RewrittenDocument {
  std::string text;
  size_t dropped_comments = 0;
};

// `stream` is the whole text the piece is in; `original` is yamlToJson(piece.root), `changed`
// what to write.
RewrittenDocument rewriteYamlDocument(std::string_view stream, const YamlPiece& piece,
                                      const boost::json::value& original,
                                      const boost::json::value& changed);

}  // namespace weft::cli
