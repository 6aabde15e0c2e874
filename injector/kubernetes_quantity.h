#pragma once

#include <string_view>

namespace weft::injector {

// Whether `text` is a resource.Quantity in the API server's canonical grammar: a signed
// decimal number, then a binary suffix (Ki Mi Gi Ti Pi Ei), a decimal suffix (n u m k M G T P
// E) or a decimal exponent (e3, E-2). "100m", "64Mi", "1.5", "2e3".
bool isKubernetesQuantity(std::string_view text);

}  // namespace weft::injector
