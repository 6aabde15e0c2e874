#include "proxy/admin/json_text.h"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace weft::proxy::admin {

namespace {

void appendPretty(const boost::json::value& value, int depth, std::string& out) {
  const auto indent = [&out](int level) { out.append(static_cast<size_t>(level) * 2, ' '); };
  if (value.is_object()) {
    const auto& object = value.get_object();
    if (object.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    bool first = true;
    for (const auto& member : object) {
      if (!first) {
        out += ",\n";
      }
      first = false;
      indent(depth + 1);
      out += jsonQuoted(member.key());
      out += ": ";
      appendPretty(member.value(), depth + 1, out);
    }
    out += '\n';
    indent(depth);
    out += '}';
  } else if (value.is_array()) {
    const auto& array = value.get_array();
    if (array.empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    bool first = true;
    for (const auto& element : array) {
      if (!first) {
        out += ",\n";
      }
      first = false;
      indent(depth + 1);
      appendPretty(element, depth + 1, out);
    }
    out += '\n';
    indent(depth);
    out += ']';
  } else {
    out += boost::json::serialize(value);
  }
}

}  // namespace

std::string prettyJson(const boost::json::value& value) {
  std::string out;
  appendPretty(value, 0, out);
  out += '\n';
  return out;
}

std::string jsonQuoted(std::string_view text) {
  return boost::json::serialize(boost::json::string(text));
}

}  // namespace weft::proxy::admin
