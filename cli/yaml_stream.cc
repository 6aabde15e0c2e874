#include "cli/yaml_stream.h"

namespace weft::cli {
namespace {

enum class LineKind { kBlank, kDirective, kStart, kStartWithContent, kEnd, kContent };

// Whether `line` is `marker` alone or followed by a space or a tab (then `rest` is what
// follows the separator).
bool isMarker(std::string_view line, std::string_view marker, std::string_view& rest) {
  if (line.substr(0, 3) != marker) {
    return false;
  }
  if (line.size() == 3) {
    rest = {};
    return true;
  }
  if (line[3] != ' ' && line[3] != '\t') {
    return false;
  }
  rest = line.substr(4);
  return true;
}

bool blankOrComment(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t");
  return first == std::string_view::npos || text[first] == '#';
}

LineKind classify(std::string_view line, bool in_prefix) {
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  std::string_view rest;
  if (isMarker(line, "---", rest)) {
    return blankOrComment(rest) ? LineKind::kStart : LineKind::kStartWithContent;
  }
  if (isMarker(line, "...", rest)) {
    return LineKind::kEnd;
  }
  if (blankOrComment(line)) {
    return LineKind::kBlank;
  }
  // A directive only where one may stand: before the document's "---".
  if (in_prefix && line.front() == '%') {
    return LineKind::kDirective;
  }
  return LineKind::kContent;
}

// The line (0-based) that `pos` is on.
size_t lineOf(std::string_view text, size_t pos, const std::vector<YamlPiece>& pieces) {
  for (const YamlPiece& piece : pieces) {
    if (pos >= piece.begin && pos < piece.end) {
      size_t line = piece.first_line;
      for (size_t i = piece.begin; i < pos; ++i) {
        line += text[i] == '\n' ? 1 : 0;
      }
      return line;
    }
  }
  return 0;
}

std::vector<YamlPiece> cut(std::string_view text) {
  std::vector<YamlPiece> pieces;
  YamlPiece current;
  bool has_start = false;
  bool has_content = false;
  size_t line_number = 0;
  auto close = [&](size_t at) {
    current.end = at;
    current.is_document = has_start || has_content;
    if (current.end > current.begin) {
      pieces.push_back(current);
    }
    current = YamlPiece{};
    current.begin = at;
    current.first_line = line_number;
    has_start = false;
    has_content = false;
  };
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t newline = text.find('\n', pos);
    const size_t line_end = newline == std::string_view::npos ? text.size() : newline;
    const size_t next = newline == std::string_view::npos ? text.size() : newline + 1;
    const LineKind kind = classify(text.substr(pos, line_end - pos), !has_start && !has_content);
    switch (kind) {
      case LineKind::kStart:
      case LineKind::kStartWithContent:
        if (has_start || has_content) {
          close(pos);
        }
        has_start = true;
        has_content = kind == LineKind::kStartWithContent;
        break;
      case LineKind::kEnd:
        if (has_start || has_content) {
          ++line_number;
          close(next);
          pos = next;
          continue;
        }
        break;
      case LineKind::kContent:
        has_content = true;
        break;
      case LineKind::kBlank:
      case LineKind::kDirective:
        break;
    }
    ++line_number;
    pos = next;
  }
  close(text.size());
  return pieces;
}

YamlStream failure(size_t line, size_t column, std::string message) {
  YamlStream stream;
  stream.ok = false;
  stream.error = {line, column, std::move(message)};
  return stream;
}

}  // namespace

YamlStream readYamlStream(std::string_view text) {
  YamlStream stream;
  stream.pieces = cut(text);
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& error) {
    if (error.mark.is_null()) {
      return failure(0, 0, error.msg);
    }
    return failure(static_cast<size_t>(error.mark.line) + 1,
                   static_cast<size_t>(error.mark.column) + 1, error.msg);
  }
  size_t next = 0;
  for (YamlPiece& piece : stream.pieces) {
    if (!piece.is_document) {
      continue;
    }
    if (next == documents.size()) {
      return failure(lineOf(text, piece.begin, stream.pieces) + 1, 1,
                     "a document that the YAML parser did not read");
    }
    const YAML::Node& document = documents[next++];
    // An empty document's mark is where the next one starts; only content is placed.
    if (!document.IsNull()) {
      const YAML::Mark mark = document.Mark();
      const auto pos = static_cast<size_t>(mark.pos);
      if (pos < piece.begin || pos >= piece.end) {
        return failure(static_cast<size_t>(mark.line) + 1, static_cast<size_t>(mark.column) + 1,
                       "unexpected content: the indentation is wrong, or a \"---\" line is "
                       "missing before a new document");
      }
    }
    piece.root = document;
  }
  if (next != documents.size()) {
    const YAML::Mark mark = documents[next].Mark();
    return failure(static_cast<size_t>(mark.line) + 1, static_cast<size_t>(mark.column) + 1,
                   "unexpected content: the indentation is wrong, or a \"---\" line is missing "
                   "before a new document");
  }
  return stream;
}

}  // namespace weft::cli
