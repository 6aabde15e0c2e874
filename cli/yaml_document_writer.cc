#include "cli/yaml_document_writer.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "cli/yaml_output.h"

namespace weft::cli {
namespace {

namespace json = boost::json;

using LineIndex = std::optional<size_t>;

struct Line {
  size_t begin = 0;  // positions in the stream
  size_t end = 0;    // before the line break (and a '\r' before it)
  size_t next = 0;   // where the next line starts
  bool has_newline = false;
};

struct EndOfLineComment {
  std::string gap;   // the blanks before '#'
  std::string text;  // from '#' on
};

// Where a value came from: its yaml-cpp node and its JSON before the change. Empty for a new
// value.
struct Source {
  YAML::Node node;
  const json::value* json = nullptr;
  bool valid() const { return json != nullptr; }
};

bool isBlank(std::string_view line) {
  return line.find_first_not_of(" \t") == std::string_view::npos;
}

// Where a comment starts on a line of YAML, outside quoted scalars; npos for none. A quote
// opens a scalar only where a token may start (line start, after a blank or a flow
// indicator), so the apostrophe in `it's` is text. A quote that does not close on the line
// starts a scalar of several lines: no comment then.
size_t commentStart(std::string_view line) {
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    const bool token_start = i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t' ||
                             line[i - 1] == '[' || line[i - 1] == '{' || line[i - 1] == ',';
    if (c == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
      return i;
    }
    if ((c == '"' || c == '\'') && token_start) {
      size_t j = i + 1;
      while (j < line.size()) {
        if (c == '"' && line[j] == '\\') {
          j += 2;
          continue;
        }
        if (line[j] == c) {
          if (c == '\'' && j + 1 < line.size() && line[j + 1] == '\'') {
            j += 2;
            continue;
          }
          break;
        }
        ++j;
      }
      if (j >= line.size()) {
        return std::string_view::npos;
      }
      i = j;
    }
  }
  return std::string_view::npos;
}

bool startsWithUnicodeBreak(std::string_view text, size_t i) {
  const std::string_view rest = text.substr(i);
  return rest.starts_with("\xC2\x85") || rest.starts_with("\xE2\x80\xA8") ||
         rest.starts_with("\xE2\x80\xA9") || rest.starts_with("\xEF\xBB\xBF");
}

// Text that reads back as the same string when written without quotes, in block context, by
// Kubernetes' YAML 1.1 parser and by YAML 1.2 parsers.
bool plainKeepsText(std::string_view text) {
  if (text.empty() || plainWouldNotBeText(text) || text == "<<" || text == "=") {
    return false;  // "<<" is a merge key, "=" YAML 1.1's value type
  }
  static constexpr std::string_view kIndicators = "-?:,[]{}#&*!|>'\"%@`";
  if (kIndicators.find(text.front()) != std::string_view::npos || text.front() == ' ' ||
      text.front() == '\t' || text.back() == ' ' || text.back() == '\t' || text.back() == ':') {
    return false;
  }
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f || startsWithUnicodeBreak(text, i)) {
      return false;
    }
    if (c == ':' && i + 1 < text.size() && text[i + 1] == ' ') {
      return false;
    }
    if (c == '#' && i > 0 && text[i - 1] == ' ') {
      return false;
    }
  }
  return true;
}

std::string doubleQuoted(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (startsWithUnicodeBreak(text, i)) {
      // Line and paragraph separators, NEL and BOM: escaped, since YAML 1.1 breaks lines there.
      const std::string_view rest = text.substr(i);
      if (rest.starts_with("\xC2\x85")) {
        out += "\\u0085";
        i += 1;
      } else if (rest.starts_with("\xE2\x80\xA8")) {
        out += "\\u2028";
        i += 2;
      } else if (rest.starts_with("\xE2\x80\xA9")) {
        out += "\\u2029";
        i += 2;
      } else {
        out += "\\uFEFF";
        i += 2;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static constexpr char kHex[] = "0123456789ABCDEF";
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// The header of a literal block that keeps `text` exactly ("|" or "|-"), or nothing: text
// that starts with a blank or a line break, ends in several line breaks, has a line of blanks
// only (read back as an empty line) or characters a block cannot hold goes in double quotes.
std::optional<std::string> literalHeader(std::string_view text) {
  if (text.find('\n') == std::string_view::npos || text.front() == ' ' || text.front() == '\t' ||
      text.front() == '\n' || text.ends_with("\n\n")) {
    return std::nullopt;
  }
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f || startsWithUnicodeBreak(text, i)) {
      return std::nullopt;
    }
  }
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view line = text.substr(start, end - start);
    if (!line.empty() && isBlank(line)) {
      return std::nullopt;
    }
    start = end + 1;
  }
  return std::string(text.back() == '\n' ? "|" : "|-");
}

std::string formatDouble(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  std::string text(buffer, result.ptr);
  if (text.find_first_of(".eEn") == std::string::npos) {
    text += ".0";  // stays a float, as it was
  }
  return text;
}

bool nonEmptyObject(const json::value& value) {
  return value.is_object() && !value.get_object().empty();
}

bool nonEmptyArray(const json::value& value) {
  return value.is_array() && !value.get_array().empty();
}

// What a scalar is written as: text on the line, a literal block, or nothing (null).
struct ScalarText {
  enum class Kind { kInline, kBlock, kEmpty } kind = Kind::kInline;
  std::string text;    // kInline: the token; kBlock: the content
  std::string header;  // kBlock
};

class DocumentWriter {
 public:
  DocumentWriter(std::string_view stream, const YamlPiece& piece) : text_(stream), piece_(piece) {}

  RewrittenDocument write(const json::value& original, const json::value& changed) {
    splitLines();
    in_scalar_.assign(lines_.size(), false);
    markScalars(piece_.root, -1);
    std::vector<bool> content(lines_.size(), false);
    std::optional<size_t> first;
    std::optional<size_t> last;
    for (size_t i = 0; i < lines_.size(); ++i) {
      content[i] = isContent(i);
      if (content[i]) {
        first = first ? first : i;
        last = i;
      }
    }
    if (!first) {
      return {std::string(text_.substr(piece_.begin, piece_.end - piece_.begin)), 0};
    }
    collectComments(*first, *last, content);
    detectLayout(piece_.root);

    if (const std::string_view line = lineText(*first);
        line.starts_with("---") && (line.size() == 3 || line[3] == ' ' || line[3] == '\t')) {
      out_ += "---\n";  // the document starts on its marker's line: "--- {kind: Pod, ...}"
    }
    const Source root{piece_.root, &original};
    if (nonEmptyObject(changed)) {
      writeMap(changed.get_object(), root, 0, false);
    } else if (nonEmptyArray(changed)) {
      writeSeq(changed.get_array(), root, 0, false);
    } else {
      const size_t at = out_.size();
      writeInline(changed, root, map_indent_, std::nullopt);
      out_.erase(at, 1);  // the blank that writeInline puts after "key:"
    }

    const Line& last_line = lines_[*last];
    std::string_view trailing = text_.substr(last_line.next, piece_.end - last_line.next);
    if (!last_line.has_newline && trailing.empty() && !out_.empty() && out_.back() == '\n') {
      out_.pop_back();  // the input ended without a line break, and so does the output
    }
    if (text_.substr(lines_[*first].end, 2) == "\r\n") {
      std::string crlf;
      for (char c : out_) {
        crlf += c == '\n' ? "\r\n" : std::string(1, c);
      }
      out_ = std::move(crlf);
    }
    RewrittenDocument result;
    result.text = std::string(text_.substr(piece_.begin, lines_[*first].begin - piece_.begin)) +
                  out_ + std::string(trailing);
    result.dropped_comments = total_comments_ - written_comments_;
    return result;
  }

 private:
  // --- the source's lines ---------------------------------------------------------------

  void splitLines() {
    size_t pos = piece_.begin;
    while (pos < piece_.end) {
      Line line;
      line.begin = pos;
      const size_t newline = text_.find('\n', pos);
      line.has_newline = newline != std::string_view::npos && newline < piece_.end;
      line.end = line.has_newline ? newline : piece_.end;
      line.next = line.has_newline ? newline + 1 : piece_.end;
      if (line.end > line.begin && text_[line.end - 1] == '\r') {
        --line.end;
      }
      lines_.push_back(line);
      pos = line.next;
    }
  }

  std::string_view lineText(size_t index) const {
    return text_.substr(lines_[index].begin, lines_[index].end - lines_[index].begin);
  }

  LineIndex lineOfPosition(size_t pos) const {
    auto it = std::upper_bound(lines_.begin(), lines_.end(), pos,
                               [](size_t p, const Line& line) { return p < line.begin; });
    if (it == lines_.begin() || pos >= piece_.end) {
      return std::nullopt;
    }
    return static_cast<size_t>(it - lines_.begin() - 1);
  }

  LineIndex lineOf(const YAML::Node& node) const {
    if (!node.IsDefined() || node.Mark().is_null()) {
      return std::nullopt;
    }
    return lineOfPosition(static_cast<size_t>(node.Mark().pos));
  }

  // The position of a node's own first character, after an anchor or a tag.
  std::optional<size_t> valueStart(const YAML::Node& node) const {
    if (!node.IsDefined() || node.Mark().is_null()) {
      return std::nullopt;
    }
    size_t pos = static_cast<size_t>(node.Mark().pos);
    while (pos < text_.size() && (text_[pos] == '&' || text_[pos] == '!')) {
      while (pos < text_.size() && text_[pos] != ' ' && text_[pos] != '\t' && text_[pos] != '\n') {
        ++pos;
      }
      while (pos < text_.size() && (text_[pos] == ' ' || text_[pos] == '\t')) {
        ++pos;
      }
    }
    return pos < text_.size() ? std::optional<size_t>(pos) : std::nullopt;
  }

  // A block collection written where its mark says, so its column means something.
  bool blockLayout(const YAML::Node& node) const {
    if (!node.IsDefined() || node.Mark().is_null()) {
      return false;
    }
    const auto pos = static_cast<size_t>(node.Mark().pos);
    return pos < text_.size() && std::string_view("{[&!*").find(text_[pos]) == std::string::npos;
  }

  // Lines inside block scalars and quoted scalars of several lines: content, whatever they
  // look like (a "# ..." line of a script is no comment).
  void markScalars(const YAML::Node& node, long parent_indent) {
    if (++walked_ > kMaxWalk) {
      return;
    }
    if (node.IsMap()) {
      for (const auto& entry : node) {
        markScalars(entry.second, blockLayout(node) ? static_cast<long>(entry.first.Mark().column)
                                                    : parent_indent);
      }
    } else if (node.IsSequence()) {
      for (const YAML::Node& item : node) {
        markScalars(item,
                    blockLayout(node) ? static_cast<long>(node.Mark().column) : parent_indent);
      }
    } else if (node.IsScalar()) {
      const std::optional<size_t> start = valueStart(node);
      if (!start) {
        return;
      }
      const LineIndex header = lineOfPosition(*start);
      const char c = text_[*start];
      if (!header) {
        return;
      }
      if (c == '|' || c == '>') {
        for (size_t i = *header + 1; i < lines_.size(); ++i) {
          const std::string_view line = lineText(i);
          if (!isBlank(line) && static_cast<long>(line.find_first_not_of(' ')) <= parent_indent) {
            break;
          }
          in_scalar_[i] = true;
        }
      } else if (c == '"' || c == '\'') {
        size_t pos = *start + 1;
        while (pos < piece_.end) {
          if (c == '"' && text_[pos] == '\\') {
            pos += 2;
            continue;
          }
          if (text_[pos] == c) {
            if (c == '\'' && pos + 1 < piece_.end && text_[pos + 1] == '\'') {
              pos += 2;
              continue;
            }
            break;
          }
          ++pos;
        }
        const LineIndex closing = lineOfPosition(std::min(pos, piece_.end - 1));
        for (size_t i = *header + 1; closing && i <= *closing; ++i) {
          in_scalar_[i] = true;
        }
      }
    }
  }

  bool isContent(size_t index) const {
    const std::string_view line = lineText(index);
    if (isBlank(line)) {
      return false;
    }
    if (in_scalar_[index]) {
      return true;
    }
    const size_t first = line.find_first_not_of(" \t");
    if (line[first] == '#') {
      return false;
    }
    if (line.starts_with("---") && (line.size() == 3 || line[3] == ' ' || line[3] == '\t')) {
      const std::string_view rest = line.substr(3);
      const size_t after = rest.find_first_not_of(" \t");
      return after != std::string_view::npos && rest[after] != '#';
    }
    if (line.starts_with("...") && (line.size() == 3 || line[3] == ' ' || line[3] == '\t')) {
      return false;
    }
    return !(line.front() == '%');  // a directive
  }

  void collectComments(size_t first, size_t last, const std::vector<bool>& content) {
    std::vector<size_t> pending;
    for (size_t i = first; i <= last; ++i) {
      if (!content[i]) {
        pending.push_back(i);
        total_comments_ += isBlank(lineText(i)) ? 0 : 1;
        continue;
      }
      if (!pending.empty()) {
        preceding_[i] = std::move(pending);
        pending.clear();
      }
      if (!in_scalar_[i]) {
        const std::string_view line = lineText(i);
        const size_t start = commentStart(line);
        if (start != std::string_view::npos) {
          size_t gap = start;
          while (gap > 0 && (line[gap - 1] == ' ' || line[gap - 1] == '\t')) {
            --gap;
          }
          eol_[i] = {std::string(line.substr(gap, start - gap)), std::string(line.substr(start))};
          ++total_comments_;
        }
      }
    }
  }

  // The document's own indentation of nested maps and of lists under a key, for what is
  // written anew.
  void detectLayout(const YAML::Node& node) {
    if (++walked_ > kMaxWalk || (found_map_indent_ && found_seq_indent_)) {
      return;
    }
    if (node.IsMap() && blockLayout(node)) {
      for (const auto& entry : node) {
        const YAML::Node& value = entry.second;
        const long key_column = entry.first.Mark().column;
        if (blockLayout(value) && value.IsMap() && !found_map_indent_ &&
            value.Mark().column > key_column) {
          map_indent_ = static_cast<size_t>(value.Mark().column - key_column);
          found_map_indent_ = true;
        }
        if (blockLayout(value) && value.IsSequence() && !found_seq_indent_ &&
            value.Mark().column >= key_column && value.Mark().line > entry.first.Mark().line) {
          seq_indent_ = static_cast<size_t>(value.Mark().column - key_column);
          found_seq_indent_ = true;
        }
        detectLayout(value);
      }
    } else if (node.IsSequence()) {
      for (const YAML::Node& item : node) {
        detectLayout(item);
      }
    }
  }

  // --- writing ----------------------------------------------------------------------------

  void writePreceding(LineIndex line, size_t indent) {
    if (!line) {
      return;
    }
    auto it = preceding_.find(*line);
    if (it == preceding_.end() || !written_preceding_.insert(*line).second) {
      return;
    }
    for (size_t index : it->second) {
      const std::string_view text = lineText(index);
      if (isBlank(text)) {
        out_ += "\n";
        continue;
      }
      out_ += std::string(indent, ' ');
      out_ += text.substr(text.find('#'));
      out_ += "\n";
      ++written_comments_;
    }
  }

  void writeEndOfLine(std::initializer_list<LineIndex> candidates) {
    for (const LineIndex& line : candidates) {
      if (!line) {
        continue;
      }
      auto it = eol_.find(*line);
      if (it != eol_.end() && written_eol_.insert(*line).second) {
        out_ += it->second.gap + it->second.text;
        ++written_comments_;
        return;
      }
    }
  }

  // The child of a map source under `key`, and the key's node.
  Source child(const Source& parent, const std::string& key, YAML::Node& key_node) const {
    if (!parent.valid() || !parent.node.IsMap() || !parent.json->is_object()) {
      return {};
    }
    const json::value* value = parent.json->get_object().if_contains(key);
    if (value == nullptr) {
      return {};
    }
    for (const auto& entry : parent.node) {
      if (entry.first.IsScalar() && entry.first.Scalar() == key) {
        key_node = entry.first;
        return {entry.second, value};
      }
    }
    return {};
  }

  // Each new item's source: the old item equal to it (the next one in order first), else an
  // old object with the same "name", else none.
  std::vector<Source> matchItems(const json::array& items, const Source& source) const {
    std::vector<Source> matched(items.size());
    if (!source.valid() || !source.node.IsSequence() || !source.json->is_array()) {
      return matched;
    }
    const json::array& old = source.json->get_array();
    std::vector<YAML::Node> nodes;
    for (const YAML::Node& node : source.node) {
      nodes.push_back(node);
    }
    if (nodes.size() != old.size()) {
      return matched;
    }
    std::vector<bool> used(old.size(), false);
    size_t next = 0;
    auto take = [&](size_t i, size_t j) {
      used[j] = true;
      next = j + 1;
      matched[i] = {nodes[j], &old[j]};
    };
    for (size_t i = 0; i < items.size(); ++i) {
      std::optional<size_t> found;
      for (size_t k = 0; k < old.size() && !found; ++k) {
        const size_t j = (next + k) % old.size();
        if (!used[j] && old[j] == items[i]) {
          found = j;
        }
      }
      const json::object* object = items[i].if_object();
      const json::value* name = object != nullptr ? object->if_contains("name") : nullptr;
      for (size_t j = 0; j < old.size() && !found && name != nullptr; ++j) {
        const json::object* candidate = old[j].if_object();
        const json::value* old_name =
            candidate != nullptr ? candidate->if_contains("name") : nullptr;
        if (!used[j] && old_name != nullptr && *old_name == *name) {
          found = j;
        }
      }
      if (found) {
        take(i, *found);
      }
    }
    return matched;
  }

  // A one-line scalar as the source wrote it: plain, or in quotes with its escapes.
  std::optional<std::string> sourceToken(const YAML::Node& node) const {
    if (!node.IsDefined() || node.Mark().is_null()) {
      return std::nullopt;
    }
    const auto pos = static_cast<size_t>(node.Mark().pos);
    if (pos >= text_.size()) {
      return std::nullopt;
    }
    const char c = text_[pos];
    if (node.IsNull()) {
      const std::string_view rest = text_.substr(pos);
      for (std::string_view word : {"~", "null", "Null", "NULL"}) {
        if (rest.starts_with(word) &&
            (rest.size() == word.size() ||
             std::string_view(" \t\r\n,]}#").find(rest[word.size()]) != std::string::npos)) {
          return std::string(word);
        }
      }
      return std::string();  // "key:" with nothing after it
    }
    if (!node.IsScalar()) {
      return std::nullopt;
    }
    if (c == '"' || c == '\'') {
      for (size_t j = pos + 1; j < text_.size() && text_[j] != '\n'; ++j) {
        if (c == '"' && text_[j] == '\\') {
          ++j;
        } else if (text_[j] == c) {
          if (c == '\'' && j + 1 < text_.size() && text_[j + 1] == '\'') {
            ++j;
            continue;
          }
          return std::string(text_.substr(pos, j + 1 - pos));
        }
      }
      return std::nullopt;
    }
    const std::string& value = node.Scalar();
    if (node.Tag() != "?" || text_.substr(pos, value.size()) != value) {
      return std::nullopt;  // tagged, a block, or a plain scalar folded from several lines
    }
    return value;
  }

  // A flow collection the source wrote on one line ("{app: web}", '["a", "b"]'), as written:
  // what a collection that did not change is copied as. Not with an alias or an anchor inside,
  // whose other end may not be in the output.
  std::optional<std::string> flowText(const YAML::Node& node) const {
    if (!node.IsMap() && !node.IsSequence()) {
      return std::nullopt;
    }
    const std::optional<size_t> start = valueStart(node);
    if (!start || (text_[*start] != '[' && text_[*start] != '{')) {
      return std::nullopt;
    }
    int depth = 0;
    for (size_t i = *start; i < piece_.end && text_[i] != '\n'; ++i) {
      const char c = text_[i];
      const char before = i > *start ? text_[i - 1] : '[';
      const bool token_start = std::string_view(" \t[{,:").find(before) != std::string::npos;
      if ((c == '"' || c == '\'') && token_start) {
        size_t j = i + 1;
        for (; j < piece_.end && text_[j] != '\n'; ++j) {
          if (c == '"' && text_[j] == '\\') {
            ++j;
          } else if (text_[j] == c) {
            if (c == '\'' && j + 1 < piece_.end && text_[j + 1] == '\'') {
              ++j;
              continue;
            }
            break;
          }
        }
        if (j >= piece_.end || text_[j] != c) {
          return std::nullopt;
        }
        i = j;
      } else if ((c == '&' || c == '*') && token_start) {
        return std::nullopt;
      } else if (c == '#' && (before == ' ' || before == '\t')) {
        return std::nullopt;  // a comment before the collection closes: several lines
      } else if (c == '[' || c == '{') {
        ++depth;
      } else if ((c == ']' || c == '}') && --depth == 0) {
        return std::string(text_.substr(*start, i + 1 - *start));
      }
    }
    return std::nullopt;
  }

  // Whether `value` is a collection written as its source's one-line flow text.
  bool keepsFlow(const json::value& value, const Source& source) const {
    return (value.is_object() || value.is_array()) && source.valid() && *source.json == value &&
           flowText(source.node).has_value();
  }

  ScalarText scalarText(const json::value& value, const Source& source) const {
    if (keepsFlow(value, source)) {
      return {ScalarText::Kind::kInline, *flowText(source.node), {}};
    }
    if (value.is_object()) {
      return {ScalarText::Kind::kInline, "{}", {}};
    }
    if (value.is_array()) {
      return {ScalarText::Kind::kInline, "[]", {}};
    }
    if (source.valid() && *source.json == value) {
      if (std::optional<std::string> token = sourceToken(source.node)) {
        return {token->empty() ? ScalarText::Kind::kEmpty : ScalarText::Kind::kInline,
                std::move(*token),
                {}};
      }
    }
    switch (value.kind()) {
      case json::kind::string: {
        const std::string_view text = value.get_string();
        if (plainKeepsText(text)) {
          return {ScalarText::Kind::kInline, std::string(text), {}};
        }
        if (std::optional<std::string> header = literalHeader(text)) {
          return {ScalarText::Kind::kBlock, std::string(text), std::move(*header)};
        }
        return {ScalarText::Kind::kInline, doubleQuoted(text), {}};
      }
      case json::kind::int64:
        return {ScalarText::Kind::kInline, std::to_string(value.get_int64()), {}};
      case json::kind::uint64:
        return {ScalarText::Kind::kInline, std::to_string(value.get_uint64()), {}};
      case json::kind::double_:
        return {ScalarText::Kind::kInline, formatDouble(value.get_double()), {}};
      case json::kind::bool_:
        return {ScalarText::Kind::kInline, value.get_bool() ? "true" : "false", {}};
      default:
        return {ScalarText::Kind::kInline, "null", {}};
    }
  }

  std::string keyText(const std::string& key, const YAML::Node& key_node) const {
    if (key_node.IsDefined() && key_node.IsScalar()) {
      if (std::optional<std::string> token = sourceToken(key_node); token && !token->empty()) {
        return *token;
      }
    }
    return plainKeepsText(key) ? key : doubleQuoted(key);
  }

  // A scalar or an empty collection after "key:" or "-"; `block_indent` is where a literal
  // block's lines go.
  // Its comment is the one on its own line, else on `owner_line` (the key's).
  void writeInline(const json::value& value, const Source& source, size_t block_indent,
                   LineIndex owner_line) {
    const ScalarText scalar = scalarText(value, source);
    const LineIndex own = source.valid() ? lineOf(source.node) : std::nullopt;
    const LineIndex other = owner_line;
    switch (scalar.kind) {
      case ScalarText::Kind::kEmpty:
        // Nothing was written for it: its mark is where the next line starts.
        writeEndOfLine({other});
        out_ += "\n";
        return;
      case ScalarText::Kind::kInline:
        out_ += " " + scalar.text;
        writeEndOfLine({own, other});
        out_ += "\n";
        return;
      case ScalarText::Kind::kBlock: {
        out_ += " " + scalar.header;
        writeEndOfLine({own, other});
        out_ += "\n";
        std::string_view rest = scalar.text;
        if (rest.back() == '\n') {
          rest.remove_suffix(1);
        }
        size_t start = 0;
        while (start <= rest.size()) {
          const size_t end = std::min(rest.find('\n', start), rest.size());
          if (end > start) {
            out_ += std::string(block_indent, ' ');
            out_ += rest.substr(start, end - start);
          }
          out_ += "\n";
          start = end + 1;
        }
        return;
      }
    }
  }

  void writeMap(const json::object& object, const Source& source, size_t indent,
                bool inline_first) {
    // The source's keys in the source's order, then the new ones: a value the patch replaced
    // as a whole (a rewritten probe) is built in the injector's order.
    std::vector<std::string_view> keys;
    std::set<std::string_view> listed;
    if (source.valid() && source.node.IsMap()) {
      for (const auto& entry : source.node) {
        if (entry.first.IsScalar() && object.contains(entry.first.Scalar()) &&
            listed.insert(entry.first.Scalar()).second) {
          keys.push_back(entry.first.Scalar());
        }
      }
    }
    for (const auto& entry : object) {
      if (listed.insert(entry.key()).second) {
        keys.push_back(entry.key());
      }
    }
    bool first = true;
    for (std::string_view name : keys) {
      const std::string key(name);
      const json::value& value = *object.if_contains(name);
      YAML::Node key_node;
      const Source value_source = child(source, key, key_node);
      const LineIndex key_line = key_node.IsDefined() ? lineOf(key_node) : std::nullopt;
      if (!(first && inline_first)) {
        writePreceding(key_line, indent);
        out_ += std::string(indent, ' ');
      }
      first = false;
      out_ += keyText(key, key_node) + ":";
      const bool laid_out = value_source.valid() && key_node.IsDefined() &&
                            blockLayout(value_source.node) &&
                            value_source.node.Mark().line > key_node.Mark().line;
      const long offset = laid_out ? value_source.node.Mark().column - key_node.Mark().column : -1;
      if (nonEmptyObject(value) && !keepsFlow(value, value_source)) {
        writeEndOfLine({key_line});
        out_ += "\n";
        const size_t step = laid_out && value_source.node.IsMap() && offset > 0
                                ? static_cast<size_t>(offset)
                                : map_indent_;
        writeMap(value.get_object(), value_source, indent + step, false);
      } else if (nonEmptyArray(value) && !keepsFlow(value, value_source)) {
        writeEndOfLine({key_line});
        out_ += "\n";
        const size_t step = laid_out && value_source.node.IsSequence() && offset >= 0
                                ? static_cast<size_t>(offset)
                                : seq_indent_;
        writeSeq(value.get_array(), value_source, indent + step, false);
      } else {
        writeInline(value, value_source, indent + map_indent_, key_line);
      }
    }
  }

  void writeSeq(const json::array& items, const Source& source, size_t indent, bool inline_first) {
    const std::vector<Source> sources = matchItems(items, source);
    for (size_t i = 0; i < items.size(); ++i) {
      // An empty item ("-" alone) has its mark on the next line, whose comments are not its.
      const bool empty = sources[i].valid() && sources[i].node.IsNull() &&
                         sourceToken(sources[i].node).value_or("x").empty();
      const LineIndex item_line =
          sources[i].valid() && !empty ? lineOf(sources[i].node) : std::nullopt;
      if (!(i == 0 && inline_first)) {
        writePreceding(item_line, indent);
        out_ += std::string(indent, ' ');
      }
      out_ += "-";
      const json::value& item = items[i];
      if (keepsFlow(item, sources[i])) {
        writeInline(item, sources[i], indent + 2, item_line);
      } else if (nonEmptyObject(item)) {
        out_ += " ";
        writeMap(item.get_object(), sources[i], indent + 2, true);
      } else if (nonEmptyArray(item)) {
        out_ += " ";
        writeSeq(item.get_array(), sources[i], indent + 2, true);
      } else {
        writeInline(item, sources[i], indent + 2, item_line);
      }
    }
  }

  // The source walks stop here; yamlToJson refused anything larger before.
  static constexpr size_t kMaxWalk = 2'000'000;

  std::string_view text_;
  const YamlPiece& piece_;
  std::vector<Line> lines_;
  std::vector<bool> in_scalar_;
  std::map<size_t, std::vector<size_t>> preceding_;  // content line -> comments, blanks before
  std::map<size_t, EndOfLineComment> eol_;
  std::set<size_t> written_preceding_;
  std::set<size_t> written_eol_;
  size_t total_comments_ = 0;
  size_t written_comments_ = 0;
  size_t walked_ = 0;
  size_t map_indent_ = 2;
  size_t seq_indent_ = 0;  // kubectl's style, unless the document indents its lists
  bool found_map_indent_ = false;
  bool found_seq_indent_ = false;
  std::string out_;
};

}  // namespace

RewrittenDocument rewriteYamlDocument(std::string_view stream, const YamlPiece& piece,
                                      const json::value& original, const json::value& changed) {
  DocumentWriter writer(stream, piece);
  return writer.write(original, changed);
}

}  // namespace weft::cli
