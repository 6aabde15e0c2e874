#pragma once

#include <boost/beast/http/fields.hpp>
#include <iterator>

#include "proxy/router/request_view.h"

namespace weft::proxy {

// HeaderLookup over Beast's fields (names compared case-insensitively).
class BeastHeaderLookup final : public HeaderLookup {
 public:
  explicit BeastHeaderLookup(const boost::beast::http::fields& fields) : fields_(fields) {}

  bool find(std::string_view lower_name, std::string& scratch,
            std::string_view& value) const override {
    const auto [first, last] = fields_.equal_range(lower_name);
    if (first == last) {
      return false;
    }
    if (std::next(first) == last) {
      value = first->value();
      return true;
    }
    // Cookie fields join with "; " (RFC 6265 section 5.4), others with ", ".
    const std::string_view separator = lower_name == "cookie" ? "; " : ", ";
    scratch.clear();
    for (auto it = first; it != last; ++it) {
      if (it != first) {
        scratch.append(separator);
      }
      scratch.append(it->value());
    }
    value = scratch;
    return true;
  }

 private:
  const boost::beast::http::fields& fields_;
};

}  // namespace weft::proxy
