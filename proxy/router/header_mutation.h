#pragma once

#include <array>
#include <boost/beast/http/fields.hpp>
#include <string>
#include <vector>

#include "proxy/http2/header_translation.h"

namespace weft::proxy {

// One level's changes to a header map (the API's HeaderMutation), names
// lower-cased at build time. Applied as the API documents: remove, then set,
// then append.
struct HeaderMutationConfig {
  std::vector<std::string> remove;
  std::vector<HeaderField> set;
  std::vector<HeaderField> append;

  bool empty() const { return remove.empty() && set.empty() && append.empty(); }
};

// The mutations that apply to one request or response, outermost level first
// (route configuration, virtual host, route, weighted backend); unused levels
// are null. Pointers into the snapshot, so carrying them costs nothing.
struct MutationChain {
  std::array<const HeaderMutationConfig*, 4> levels{};

  void add(const HeaderMutationConfig& mutation) {
    if (mutation.empty()) {
      return;
    }
    for (const HeaderMutationConfig*& level : levels) {
      if (level == nullptr) {
        level = &mutation;
        return;
      }
    }
  }
  bool empty() const { return levels.front() == nullptr; }

  // HTTP/1.1 fields (Beast compares names case-insensitively).
  void apply(boost::beast::http::fields& fields) const;
  // HTTP/2 fields: lower-case names; pseudo-headers are never touched.
  void apply(HeaderList& fields) const;
};

}  // namespace weft::proxy
