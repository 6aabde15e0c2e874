#include "cli/yaml_output.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

namespace weft::cli {

bool plainWouldNotBeText(std::string_view text) {
  if (text.empty()) {
    return true;
  }
  const char first = text.front();
  if (std::isdigit(static_cast<unsigned char>(first)) || first == '-' || first == '+' ||
      first == '.') {
    return true;  // numbers in any notation (1, -1, .5, 0x1f, 1e3, 1:30, .inf)
  }
  static constexpr std::array<std::string_view, 11> kWords = {
      "true", "false", "yes", "no", "y", "n", "on", "off", "null", "~", "nan"};
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(kWords.begin(), kWords.end(), lower) != kWords.end();
}

namespace {

// yaml-cpp writes a literal block faithfully only for text that ends in exactly one line break
// and does not start with a blank (it writes no indentation or chomping indicator).
bool literalBlockKeeps(std::string_view text) {
  return text.find('\n') != std::string_view::npos && text.size() >= 2 && text.back() == '\n' &&
         text[text.size() - 2] != '\n' && text.front() != ' ' && text.front() != '\t' &&
         text.find('\r') == std::string_view::npos;
}

void emitNode(YAML::Emitter& out, const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      out << YAML::BeginMap;
      for (const auto& entry : node) {
        out << YAML::Key;
        emitNode(out, entry.first);
        out << YAML::Value;
        emitNode(out, entry.second);
      }
      out << YAML::EndMap;
      return;
    case YAML::NodeType::Sequence:
      out << YAML::BeginSeq;
      for (const auto& item : node) {
        emitNode(out, item);
      }
      out << YAML::EndSeq;
      return;
    case YAML::NodeType::Scalar: {
      const std::string& text = node.Scalar();
      if (node.Tag() != "!") {
        out << text;  // plain in the source, so plain-representable
      } else if (literalBlockKeeps(text)) {
        out << YAML::Literal << text;
      } else if (plainWouldNotBeText(text) || text.find('\n') != std::string::npos) {
        out << YAML::DoubleQuoted << text;
      } else {
        out << text;  // the emitter still quotes what cannot be plain (": ", "#", ...)
      }
      return;
    }
    case YAML::NodeType::Null:
      out << YAML::Null;
      return;
    case YAML::NodeType::Undefined:
      return;
  }
}

}  // namespace

std::string emitYaml(const YAML::Node& node) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetSeqFormat(YAML::Block);
  out.SetMapFormat(YAML::Block);
  emitNode(out, node);
  std::string text = out.c_str();
  if (!text.empty() && text.back() != '\n') {
    text += '\n';
  }
  return text;
}

void setText(YAML::Node node, const std::string& value) {
  node = value;
  node.SetTag("!");
}

YAML::Node textNode(const std::string& value) {
  YAML::Node node(value);
  node.SetTag("!");
  return node;
}

}  // namespace weft::cli
