#include "common/tls/subject_alt_names.h"

#include <openssl/err.h>
#include <memory>

#include "common/tls/openssl_ptr.h"

namespace weft::tls::internal {

namespace {

using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpensslFree<&GENERAL_NAMES_free>>;

}  // namespace

Result<std::vector<std::string>> uriSubjectAltNames(GENERAL_NAMES* decoded, int critical,
                                                    std::string_view object) {
  GeneralNamesPtr names(decoded);
  const std::string holder(object);
  if (names == nullptr) {
    // -1: no such extension; -2: more than one; otherwise it is there but does not decode.
    ERR_clear_error();
    if (critical == -1) {
      return std::vector<std::string>{};
    }
    return Error{critical == -2 ? holder + " has more than one subjectAltName extension"
                                : holder + " has a malformed subjectAltName extension"};
  }
  std::vector<std::string> uris;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name == nullptr || name->type != GEN_URI) {
      continue;
    }
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    const int length = ASN1_STRING_length(uri);
    const auto* data = reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri));
    if (data == nullptr || length < 0) {
      return Error{holder + " has a malformed URI subjectAltName"};
    }
    std::string value(data, static_cast<size_t>(length));
    if (value.find('\0') != std::string::npos) {
      return Error{holder + " has a URI subjectAltName with an embedded NUL"};
    }
    uris.push_back(std::move(value));
  }
  return uris;
}

}  // namespace weft::tls::internal
