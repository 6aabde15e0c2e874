#include "controlplane/source/kubernetes_names.h"

namespace weft::controlplane {
namespace {

bool isLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool isAlnum(char c) {
  return isLowerAlnum(c) || (c >= 'A' && c <= 'Z');
}

// [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool isLabelSyntax(std::string_view text) {
  if (text.empty() || !isLowerAlnum(text.front()) || !isLowerAlnum(text.back())) {
    return false;
  }
  for (char c : text) {
    if (!isLowerAlnum(c) && c != '-') {
      return false;
    }
  }
  return true;
}

// Quoted for a message; a hostile name could be megabytes long.
std::string shown(std::string_view text) {
  constexpr size_t kShown = 80;
  if (text.size() <= kShown) {
    return "\"" + std::string(text) + "\"";
  }
  return "\"" + std::string(text.substr(0, kShown)) + "...\" (" + std::to_string(text.size()) +
         " characters)";
}

constexpr std::string_view kSubdomainRule =
    "must be a lowercase RFC 1123 subdomain: at most 253 characters of lowercase letters, "
    "digits, '-' and '.', each dot-separated part starting and ending with a letter or digit "
    "(e.g. \"reviews\" or \"reviews.v2\")";

constexpr std::string_view kLabelRule =
    "must be a lowercase RFC 1123 label: at most 63 characters of lowercase letters, digits "
    "and '-', starting and ending with a letter or digit";

constexpr std::string_view kValueRule =
    "must be at most 63 characters of letters, digits, '-', '_' and '.', starting and ending "
    "with a letter or digit";

// [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, at most 63 characters.
bool isQualifiedNamePart(std::string_view text) {
  if (text.empty() || text.size() > 63 || !isAlnum(text.front()) || !isAlnum(text.back())) {
    return false;
  }
  for (char c : text) {
    if (!isAlnum(c) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string checkDns1123Subdomain(std::string_view text) {
  bool valid = !text.empty() && text.size() <= 253;
  for (size_t start = 0; valid && start <= text.size();) {
    const size_t dot = text.find('.', start);
    const size_t end = dot == std::string_view::npos ? text.size() : dot;
    valid = isLabelSyntax(text.substr(start, end - start));
    start = end + 1;
  }
  return valid ? std::string() : shown(text) + " " + std::string(kSubdomainRule);
}

std::string checkDns1123Label(std::string_view text) {
  if (text.size() <= 63 && isLabelSyntax(text)) {
    return {};
  }
  return shown(text) + " " + std::string(kLabelRule);
}

std::string checkDns1035Label(std::string_view text) {
  if (text.size() <= 63 && isLabelSyntax(text) && text.front() >= 'a' && text.front() <= 'z') {
    return {};
  }
  return shown(text) +
         " must be an RFC 1035 label, as Kubernetes requires of Service names: at most 63 "
         "characters of lowercase letters, digits and '-', starting with a letter and ending "
         "with a letter or digit";
}

std::string checkQualifiedName(std::string_view text) {
  const size_t slash = text.find('/');
  const std::string_view name = slash == std::string_view::npos ? text : text.substr(slash + 1);
  if (slash != std::string_view::npos) {
    const std::string_view prefix = text.substr(0, slash);
    if (!checkDns1123Subdomain(prefix).empty()) {
      return "key " + shown(text) + ": the prefix before '/' " + std::string(kSubdomainRule);
    }
  }
  if (!isQualifiedNamePart(name)) {
    return "key " + shown(text) + ": the name" +
           (slash == std::string_view::npos ? "" : " after '/'") + " " + std::string(kValueRule) +
           " (keys are \"[prefix/]name\")";
  }
  return {};
}

std::string checkLabelValue(std::string_view text) {
  if (text.empty() || isQualifiedNamePart(text)) {
    return {};
  }
  return "value " + shown(text) + " " + std::string(kValueRule) + ", or be empty";
}

std::string checkPortName(std::string_view text) {
  bool has_letter = false;
  for (char c : text) {
    has_letter |= c >= 'a' && c <= 'z';
  }
  if (text.size() <= 15 && isLabelSyntax(text) && has_letter &&
      text.find("--") == std::string_view::npos) {
    return {};
  }
  return shown(text) +
         " is not a valid port name: at most 15 characters of lowercase letters, digits and "
         "'-', with at least one letter, starting and ending with a letter or digit, no \"--\"";
}

}  // namespace weft::controlplane
