#include "injector/json_patch.h"

#include <boost/json/object.hpp>
#include <charconv>
#include <optional>
#include <vector>

namespace weft::injector {

namespace json = boost::json;

std::string escapePointerToken(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

// The reference tokens of `pointer`, unescaped; nullopt when it is not a JSON Pointer.
std::optional<std::vector<std::string>> splitPointer(std::string_view pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) {
    return tokens;
  }
  if (pointer.front() != '/') {
    return std::nullopt;
  }
  size_t start = 1;
  while (true) {
    const size_t end = pointer.find('/', start);
    const std::string_view raw = pointer.substr(start, end - start);
    std::string token;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '~') {
        token += raw[i];
      } else if (i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
        token += raw[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        return std::nullopt;  // "~" must be followed by 0 or 1 (RFC 6901 section 3)
      }
    }
    tokens.push_back(std::move(token));
    if (end == std::string_view::npos) {
      return tokens;
    }
    start = end + 1;
  }
}

// An array index token: digits, no leading zero unless "0" (RFC 6901 section 4).
std::optional<size_t> arrayIndex(const std::string& token) {
  if (token.empty() || (token.size() > 1 && token[0] == '0')) {
    return std::nullopt;
  }
  size_t index = 0;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
  if (ec != std::errc() || end != token.data() + token.size()) {
    return std::nullopt;
  }
  return index;
}

// The value `tokens` lead to, or null.
json::value* resolve(json::value& document, const std::vector<std::string>& tokens, size_t count) {
  json::value* at = &document;
  for (size_t i = 0; i < count; ++i) {
    if (json::object* object = at->if_object()) {
      at = object->if_contains(tokens[i]);
    } else if (json::array* array = at->if_array()) {
      const auto index = arrayIndex(tokens[i]);
      at = index && *index < array->size() ? &(*array)[*index] : nullptr;
    } else {
      at = nullptr;
    }
    if (at == nullptr) {
      return nullptr;
    }
  }
  return at;
}

bool addAt(json::value& document, const std::vector<std::string>& tokens, json::value value,
           std::string& error) {
  if (tokens.empty()) {
    document = std::move(value);
    return true;
  }
  json::value* parent = resolve(document, tokens, tokens.size() - 1);
  if (parent == nullptr) {
    error = "the parent does not exist";
    return false;
  }
  const std::string& last = tokens.back();
  if (json::object* object = parent->if_object()) {
    (*object)[last] = std::move(value);
    return true;
  }
  if (json::array* array = parent->if_array()) {
    if (last == "-") {
      array->push_back(std::move(value));
      return true;
    }
    const auto index = arrayIndex(last);
    if (!index || *index > array->size()) {
      error = "array index out of range";
      return false;
    }
    array->insert(array->begin() + static_cast<std::ptrdiff_t>(*index), std::move(value));
    return true;
  }
  error = "the parent is neither an object nor an array";
  return false;
}

// Removes and returns the value at `tokens`, or nullopt.
std::optional<json::value> removeAt(json::value& document, const std::vector<std::string>& tokens,
                                    std::string& error) {
  if (tokens.empty()) {
    error = "cannot remove the whole document";
    return std::nullopt;
  }
  json::value* parent = resolve(document, tokens, tokens.size() - 1);
  const std::string& last = tokens.back();
  if (parent != nullptr) {
    if (json::object* object = parent->if_object()) {
      if (auto found = object->find(last); found != object->end()) {
        json::value removed = std::move(found->value());
        object->erase(found);
        return removed;
      }
    } else if (json::array* array = parent->if_array()) {
      if (const auto index = arrayIndex(last); index && *index < array->size()) {
        json::value removed = std::move((*array)[*index]);
        array->erase(array->begin() + static_cast<std::ptrdiff_t>(*index));
        return removed;
      }
    }
  }
  error = "no such value";
  return std::nullopt;
}

std::string_view stringMember(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string_view(value->get_string())
                                                : std::string_view();
}

bool applyOne(json::value& document, const json::object& operation, std::string& error) {
  const std::string_view op = stringMember(operation, "op");
  const json::value* path_value = operation.if_contains("path");
  if (path_value == nullptr || !path_value->is_string()) {
    error = "no \"path\" string";
    return false;
  }
  const auto path = splitPointer(path_value->get_string());
  if (!path) {
    error = "\"path\" is not a JSON Pointer";
    return false;
  }
  const json::value* value = operation.if_contains("value");
  if (op == "add" || op == "replace" || op == "test") {
    if (value == nullptr) {
      error = "no \"value\"";
      return false;
    }
    if (op == "add") {
      return addAt(document, *path, *value, error);
    }
    json::value* target = resolve(document, *path, path->size());
    if (target == nullptr) {
      error = "no such value";
      return false;
    }
    if (op == "test") {
      if (*target != *value) {
        error = "test failed: the value differs";
        return false;
      }
      return true;
    }
    *target = *value;
    return true;
  }
  if (op == "remove") {
    return removeAt(document, *path, error).has_value();
  }
  if (op == "move" || op == "copy") {
    const json::value* from_value = operation.if_contains("from");
    const auto from = from_value != nullptr && from_value->is_string()
                          ? splitPointer(from_value->get_string())
                          : std::nullopt;
    if (!from) {
      error = "no \"from\" JSON Pointer";
      return false;
    }
    if (op == "copy") {
      const json::value* source = resolve(document, *from, from->size());
      if (source == nullptr) {
        error = "\"from\": no such value";
        return false;
      }
      return addAt(document, *path, *source, error);
    }
    // A value cannot move into itself (RFC 6902 section 4.4).
    if (path->size() > from->size() && std::equal(from->begin(), from->end(), path->begin())) {
      error = "cannot move a value into one of its children";
      return false;
    }
    auto moved = removeAt(document, *from, error);
    return moved && addAt(document, *path, std::move(*moved), error);
  }
  error = "unknown \"op\" '" + std::string(op) + "'";
  return false;
}

}  // namespace

bool applyJsonPatch(json::value& document, const json::array& patch, std::string& error) {
  for (size_t i = 0; i < patch.size(); ++i) {
    const json::object* operation = patch[i].if_object();
    std::string reason;
    if (operation == nullptr) {
      reason = "not an object";
    } else if (applyOne(document, *operation, reason)) {
      continue;
    }
    const std::string_view path =
        operation != nullptr ? stringMember(*operation, "path") : std::string_view();
    error = "patch operation " + std::to_string(i) + " (" + std::string(path) + "): " + reason;
    return false;
  }
  return true;
}

}  // namespace weft::injector
