#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <string_view>

namespace weft::kube {

// Typed reads of one field of a parsed API object. The API's objects are read leniently: a
// field that is missing or of another type reads as absent (null, empty, the fallback), and
// whoever needs the field decides what its absence means.

inline const boost::json::object* objectField(const boost::json::object& object,
                                              std::string_view key) {
  const boost::json::value* value = object.if_contains(key);
  return value != nullptr && value->is_object() ? &value->get_object() : nullptr;
}

inline const boost::json::array* arrayField(const boost::json::object& object,
                                            std::string_view key) {
  const boost::json::value* value = object.if_contains(key);
  return value != nullptr && value->is_array() ? &value->get_array() : nullptr;
}

// A view into `object`: valid while it is.
inline std::string_view stringField(const boost::json::object& object, std::string_view key) {
  const boost::json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string_view(value->get_string())
                                                : std::string_view();
}

inline int64_t integerField(const boost::json::object& object, std::string_view key,
                            int64_t fallback = 0) {
  const boost::json::value* value = object.if_contains(key);
  return value != nullptr && value->is_int64() ? value->get_int64() : fallback;
}

}  // namespace weft::kube
