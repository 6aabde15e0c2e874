#pragma once

#include <string>
#include <string_view>

namespace weft::controlplane {

// The syntax rules Kubernetes applies to object names, namespaces, labels and annotations, so a
// directory of manifests accepts exactly the names a cluster would. Each function returns an
// empty string when `text` is valid, else the rule it breaks, written for an error message.

// RFC 1123 subdomain: names of most objects, including the weft.dev kinds.
std::string checkDns1123Subdomain(std::string_view text);

// RFC 1123 label: namespaces, Service port names.
std::string checkDns1123Label(std::string_view text);

// RFC 1035 label: Service names (they become DNS labels, which must start with a letter).
std::string checkDns1035Label(std::string_view text);

// Label and annotation keys: "[prefix/]name", prefix an RFC 1123 subdomain.
std::string checkQualifiedName(std::string_view text);

// Label values (and selector values): empty, or like the name part of a qualified name.
std::string checkLabelValue(std::string_view text);

// A named port (IANA service name), as a Service's targetPort may give: at most 15
// characters, lowercase letters, digits and '-', at least one letter.
std::string checkPortName(std::string_view text);

}  // namespace weft::controlplane
