#include "proxy/http1/upgrade.h"

#include <boost/beast/core/string.hpp>

namespace weft::proxy {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

std::string_view protocolName(std::string_view token) {
  return token.substr(0, token.find('/'));
}

// Calls `visit` with each element of a comma-separated list, trimmed, empty
// elements skipped. Beast's token_list cannot be used: "name/version" is not a
// token.
template <class Visit>
void forEachElement(std::string_view list, Visit visit) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view element = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    while (!element.empty() && (element.front() == ' ' || element.front() == '\t')) {
      element.remove_prefix(1);
    }
    while (!element.empty() && (element.back() == ' ' || element.back() == '\t')) {
      element.remove_suffix(1);
    }
    if (!element.empty()) {
      visit(element);
    }
  }
}

bool contains(std::string_view list, std::string_view token) {
  bool found = false;
  forEachElement(
      list, [&](std::string_view candidate) { found = found || beast::iequals(candidate, token); });
  return found;
}

}  // namespace

std::string allowedUpgrade(const http::fields& request, const std::vector<std::string>& allowed) {
  std::string out;
  const auto upgrade = request[http::field::upgrade];
  if (upgrade.empty() || !contains(request[http::field::connection], "upgrade")) {
    return out;
  }
  forEachElement(upgrade, [&](std::string_view token) {
    const std::string_view name = protocolName(token);
    for (const std::string& type : allowed) {
      if (beast::iequals(name, type)) {
        out.append(out.empty() ? "" : ", ").append(token);
        break;
      }
    }
  });
  return out;
}

bool upgradeWasOffered(std::string_view chosen, std::string_view offered) {
  if (chosen.empty()) {
    return false;
  }
  bool all_offered = true;
  forEachElement(chosen, [&](std::string_view token) {
    all_offered = all_offered && contains(offered, token);
  });
  return all_offered;
}

}  // namespace weft::proxy
