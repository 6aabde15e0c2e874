#include "controlplane/crd/yaml_writer.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>

namespace weft::controlplane::crd {
namespace {

bool isAsciiLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool isAsciiDigit(char c) {
  return c >= '0' && c <= '9';
}

// Words that YAML 1.1 (Kubernetes' reader) or YAML 1.2 turns into booleans or null.
bool isReservedWord(std::string_view text) {
  static constexpr std::array<std::string_view, 10> kWords = {"y",     "yes", "n",   "no",   "true",
                                                              "false", "on",  "off", "null", "~"};
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  return std::find(kWords.begin(), kWords.end(), lower) != kWords.end();
}

// True when `text` can be written unquoted and reads back as the same string in YAML 1.1
// and 1.2: starts with a letter, "/" or "." and a letter (JSONPath), and holds only
// characters with no meaning to YAML.
bool isPlainSafe(std::string_view text) {
  if (text.empty() || isReservedWord(text)) {
    return false;
  }
  const char first = text.front();
  const bool good_start = isAsciiLetter(first) || first == '/' ||
                          (first == '.' && text.size() > 1 && isAsciiLetter(text[1]));
  if (!good_start) {
    return false;
  }
  return std::all_of(text.begin(), text.end(), [](char c) {
    return isAsciiLetter(c) || isAsciiDigit(c) || c == '_' || c == '.' || c == '/' || c == '-';
  });
}

bool isPrintable(std::string_view text) {
  // Bytes from 0x80 up are UTF-8 sequences, which YAML takes as they are.
  return std::all_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte >= 0x20 && byte != 0x7f;
  });
}

// Single quotes keep regular expressions readable (no doubled backslashes); everything else
// goes in double quotes, whose escapes are the same as JSON's.
std::string quote(std::string_view text) {
  if (isPrintable(text) && text.find('\\') != std::string_view::npos &&
      text.find('\'') == std::string_view::npos) {
    return "'" + std::string(text) + "'";
  }
  std::string out = "\"";
  for (char c : text) {
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
      default: {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\x";
          out += kHex[byte >> 4];
          out += kHex[byte & 0xf];
        } else {
          out += c;
        }
      }
    }
  }
  out += "\"";
  return out;
}

std::string scalarText(std::string_view text) {
  return isPlainSafe(text) ? std::string(text) : quote(text);
}

bool isBlock(const YamlValue& value) {
  return (value.kind() == YamlValue::Kind::kMap && !value.entries().empty()) ||
         (value.kind() == YamlValue::Kind::kList && !value.items().empty());
}

// A scalar or an empty collection, as it appears after "key: " or "- ".
std::string inlineText(const YamlValue& value) {
  switch (value.kind()) {
    case YamlValue::Kind::kString:
      return scalarText(value.scalar());
    case YamlValue::Kind::kNumber:
    case YamlValue::Kind::kBool:
      return value.scalar();
    case YamlValue::Kind::kMap:
      return "{}";
    case YamlValue::Kind::kList:
      return "[]";
  }
  return {};
}

void writeBlock(const YamlValue& value, size_t indent, std::string& out);

// A block collection as a list item: its first line moves up onto the "- " line.
void writeListItemBlock(const YamlValue& item, size_t indent, std::string& out) {
  std::string nested;
  writeBlock(item, indent + 2, nested);
  nested.replace(0, indent + 2, std::string(indent, ' ') + "- ");
  out += nested;
}

void writeBlock(const YamlValue& value, size_t indent, std::string& out) {
  const std::string pad(indent, ' ');
  if (value.kind() == YamlValue::Kind::kMap) {
    for (const auto& [key, child] : value.entries()) {
      out += pad + scalarText(key) + ":";
      if (isBlock(child)) {
        out += "\n";
        writeBlock(child, indent + 2, out);
      } else {
        out += " " + inlineText(child) + "\n";
      }
    }
    return;
  }
  for (const YamlValue& item : value.items()) {
    if (isBlock(item)) {
      writeListItemBlock(item, indent, out);
    } else {
      out += pad + "- " + inlineText(item) + "\n";
    }
  }
}

}  // namespace

YamlValue YamlValue::string(std::string text) {
  return YamlValue(Kind::kString, std::move(text));
}

YamlValue YamlValue::integer(int64_t value) {
  return YamlValue(Kind::kNumber, std::to_string(value));
}

YamlValue YamlValue::number(double value) {
  if (std::trunc(value) == value && std::fabs(value) < 1e15) {
    return integer(static_cast<int64_t>(value));
  }
  std::array<char, 64> buffer{};
  const auto result =
      std::to_chars(buffer.data(), buffer.data() + buffer.size(), value, std::chars_format::fixed);
  return YamlValue(Kind::kNumber, std::string(buffer.data(), result.ptr));
}

YamlValue YamlValue::boolean(bool value) {
  return YamlValue(Kind::kBool, value ? "true" : "false");
}

YamlValue YamlValue::map() {
  return YamlValue(Kind::kMap, {});
}

YamlValue YamlValue::list() {
  return YamlValue(Kind::kList, {});
}

YamlValue YamlValue::stringList(std::initializer_list<std::string_view> items) {
  YamlValue out = list();
  for (std::string_view item : items) {
    out.push(string(std::string(item)));
  }
  return out;
}

YamlValue& YamlValue::set(std::string_view key, YamlValue value) {
  if (YamlValue* existing = find(key)) {
    *existing = std::move(value);
    return *existing;
  }
  entries_.emplace_back(std::string(key), std::move(value));
  return entries_.back().second;
}

bool YamlValue::erase(std::string_view key) {
  const auto it = std::find_if(entries_.begin(), entries_.end(),
                               [key](const auto& entry) { return entry.first == key; });
  if (it == entries_.end()) {
    return false;
  }
  entries_.erase(it);
  return true;
}

const YamlValue* YamlValue::find(std::string_view key) const {
  for (const auto& [name, child] : entries_) {
    if (name == key) {
      return &child;
    }
  }
  return nullptr;
}

YamlValue* YamlValue::find(std::string_view key) {
  return const_cast<YamlValue*>(std::as_const(*this).find(key));
}

void YamlValue::orderKeys(const std::vector<std::string_view>& order) {
  auto rank = [&order](const std::string& key) {
    const auto it = std::find(order.begin(), order.end(), key);
    return static_cast<size_t>(it - order.begin());
  };
  std::stable_sort(entries_.begin(), entries_.end(),
                   [&rank](const auto& a, const auto& b) { return rank(a.first) < rank(b.first); });
}

YamlValue& YamlValue::push(YamlValue value) {
  items_.push_back(std::move(value));
  return items_.back();
}

std::string writeYaml(const YamlValue& value) {
  if (!isBlock(value)) {
    return inlineText(value) + "\n";
  }
  std::string out;
  writeBlock(value, 0, out);
  return out;
}

}  // namespace weft::controlplane::crd
