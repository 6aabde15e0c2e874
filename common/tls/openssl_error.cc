#include "common/tls/openssl_error.h"

#include <openssl/err.h>

namespace weft::tls {

std::string opensslErrors() {
  std::string description;
  const char* data = nullptr;
  int flags = 0;
  while (const unsigned long code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
    if (!description.empty()) {
      description += "; ";
    }
    const char* library = ERR_lib_error_string(code);
    const char* reason = ERR_reason_error_string(code);
    if (reason != nullptr) {
      if (library != nullptr) {
        description += library;
        description += ": ";
      }
      description += reason;
    } else {
      // No registered text (e.g. a provider's private code): the generic form still carries
      // the numbers needed to look it up.
      char buffer[256];
      ERR_error_string_n(code, buffer, sizeof(buffer));
      description += buffer;
    }
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
      description += " (";
      description += data;
      description += ")";
    }
  }
  return description;
}

}  // namespace weft::tls
