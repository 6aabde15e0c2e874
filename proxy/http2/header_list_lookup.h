#pragma once

#include "proxy/http2/header_translation.h"
#include "proxy/router/request_view.h"

namespace weft::proxy {

// HeaderLookup over an HTTP/2 field list (names already lower-case).
class HeaderListLookup final : public HeaderLookup {
 public:
  explicit HeaderListLookup(const HeaderList& fields) : fields_(fields) {}

  bool find(std::string_view lower_name, std::string& scratch,
            std::string_view& value) const override {
    const HeaderField* single = nullptr;
    bool joined = false;
    // Cookie fields join with "; " (RFC 9113 section 8.2.3), others with ", ".
    const std::string_view separator = lower_name == "cookie" ? "; " : ", ";
    for (const HeaderField& field : fields_) {
      if (field.name != lower_name) {
        continue;
      }
      if (single == nullptr) {
        single = &field;
        continue;
      }
      if (!joined) {
        scratch.assign(single->value);
        joined = true;
      }
      scratch.append(separator).append(field.value);
    }
    if (single == nullptr) {
      return false;
    }
    value = joined ? std::string_view(scratch) : std::string_view(single->value);
    return true;
  }

 private:
  const HeaderList& fields_;
};

}  // namespace weft::proxy
