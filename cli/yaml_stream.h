#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace weft::cli {

// A multi-document YAML stream cut into pieces that, put back together in order, are the
// text byte for byte, so that a tool can rewrite some documents and copy the rest verbatim.
//
// The cuts are made on the text, line by line, at document markers in column 0: a line that
// is exactly "---" or starts with "--- " (or "---" and a tab) begins a document, a "..." line
// ends one. The YAML spec makes such a line end a document wherever it stands, even inside a
// block scalar, whose content is always indented under a key (a "---" line inside a
// ConfigMap's script is indented, so it is content). Comments, blank lines and directives
// before a document's first "---" belong to that document's piece; those after its last line
// stay with it unless a "..." line ends it first.
//
// yaml-cpp then parses the whole stream, and each document it reads must start inside its own
// piece: yaml-cpp accepts some text that Kubernetes' parser refuses (a dedented line starts a
// second document without a marker), and that is reported as an error here.

struct YamlPiece {
  size_t begin = 0;  // [begin, end) of the stream text
  size_t end = 0;
  size_t first_line = 0;  // 0-based line of `begin`
  // False for a piece of comments and blank lines only (after a "..." line or at the end of
  // a stream that has no document); `root` is then undefined.
  bool is_document = false;
  // The document as yaml-cpp read it; marks are positions in the whole stream text. A
  // document with nothing in it ("---" alone) is a Null node.
  YAML::Node root;
};

struct YamlSyntaxError {
  size_t line = 0;  // 1-based, as editors count
  size_t column = 0;
  std::string message;
};

struct YamlStream {
  std::vector<YamlPiece> pieces;
  bool ok = true;
  YamlSyntaxError error;  // when !ok
};

// Cuts and parses `text`. Never throws.
YamlStream readYamlStream(std::string_view text);

}  // namespace weft::cli
