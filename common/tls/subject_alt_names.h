#pragma once

#include <openssl/x509v3.h>
#include <string>
#include <string_view>
#include <vector>

#include "common/tls/result.h"

namespace weft::tls::internal {

// The URI entries of a decoded subjectAltName, shared by certificates and certificate requests.
// `names` and `critical` are what X509_get_ext_d2i / X509V3_get_d2i returned (this takes
// ownership of `names`); `object` names the holder in errors ("certificate", "certificate
// request"). See uriSans() for the rules.
Result<std::vector<std::string>> uriSubjectAltNames(GENERAL_NAMES* names, int critical,
                                                    std::string_view object);

}  // namespace weft::tls::internal
