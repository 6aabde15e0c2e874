#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

namespace weft::proxy::admin {

// JSON for people reading admin output in a terminal: two-space indentation, one member per
// line, members in insertion order. (Boost.JSON serializes compactly only.)
std::string prettyJson(const boost::json::value& value);

// `text` as a JSON string literal, quotes included.
std::string jsonQuoted(std::string_view text);

}  // namespace weft::proxy::admin
