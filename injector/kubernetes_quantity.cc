#include "injector/kubernetes_quantity.h"

#include <array>
#include <cctype>

namespace weft::injector {

bool isKubernetesQuantity(std::string_view text) {
  size_t i = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    ++i;
  }
  size_t digits = 0;
  bool dot = false;
  for (; i < text.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(text[i]))) {
      ++digits;
    } else if (text[i] == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  if (digits == 0) {
    return false;
  }
  const std::string_view suffix = text.substr(i);
  static constexpr std::array<std::string_view, 16> kSuffixes = {
      "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E"};
  for (std::string_view known : kSuffixes) {
    if (suffix == known) {
      return true;
    }
  }
  // A decimal exponent: e or E, an optional sign, digits.
  if (suffix.size() >= 2 && (suffix[0] == 'e' || suffix[0] == 'E')) {
    size_t j = 1;
    if (suffix[j] == '+' || suffix[j] == '-') {
      ++j;
    }
    if (j == suffix.size()) {
      return false;
    }
    for (; j < suffix.size(); ++j) {
      if (!std::isdigit(static_cast<unsigned char>(suffix[j]))) {
        return false;
      }
    }
    return true;
  }
  return false;
}

}  // namespace weft::injector
