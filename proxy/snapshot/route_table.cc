#include <algorithm>
#include <array>

#include "common/text/ascii.h"
#include "proxy/snapshot/snapshot.h"

namespace weft::proxy {
namespace {

bool startsWith(std::string_view text, std::string_view prefix, bool case_sensitive) {
  if (text.size() < prefix.size()) {
    return false;
  }
  return case_sensitive ? text.substr(0, prefix.size()) == prefix
                        : text::equalsIgnoreCaseAscii(text.substr(0, prefix.size()), prefix);
}

// Host header without the port; "[::1]:80" keeps its brackets.
std::string_view hostWithoutPort(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    return close == std::string_view::npos ? authority : authority.substr(0, close + 1);
  }
  const size_t colon = authority.rfind(':');
  return colon == std::string_view::npos ? authority : authority.substr(0, colon);
}

}  // namespace

void WeightedPicker::setTotal(uint64_t total) {
  total_weight = total;
  // Large primes, so consecutive tickets land far apart; the first one that
  // does not divide the total is coprime with it.
  for (uint64_t prime : {7919ULL, 104729ULL, 1299709ULL}) {
    if (total % prime != 0) {
      stride = prime % (total == 0 ? 1 : total);
      if (stride == 0) {
        stride = 1;
      }
      return;
    }
  }
  stride = 1;
}

bool RouteEntry::matchesPath(std::string_view path_only) const {
  switch (path_kind) {
    case PathMatchKind::kPrefix:
      return startsWith(path_only, path, case_sensitive);
    case PathMatchKind::kExact:
      return case_sensitive ? path_only == path : text::equalsIgnoreCaseAscii(path_only, path);
    case PathMatchKind::kSeparatedPrefix:
      // "/api" matches "/api" and "/api/x" but not "/apix".
      return startsWith(path_only, path, case_sensitive) &&
             (path_only.size() == path.size() || path_only[path.size()] == '/');
    case PathMatchKind::kRegex:
      return RE2::FullMatch(re2::StringPiece(path_only.data(), path_only.size()), *path_regex);
  }
  return false;
}

const VirtualHostConfig* RouteTable::findVirtualHost(std::string_view authority) const {
  // Lower-cased into a stack buffer: no allocation per request. Configured
  // domains are at most 261 characters, so a longer authority can only meet "*".
  std::array<char, 512> lowered;
  const bool fits = authority.size() <= lowered.size();
  const size_t length = fits ? authority.size() : 0;
  std::transform(authority.begin(), authority.begin() + static_cast<std::ptrdiff_t>(length),
                 lowered.begin(), text::toLowerAscii);
  const std::string_view full(lowered.data(), length);
  const std::string_view host = hostWithoutPort(full);
  const VirtualHostConfig* exact_host = nullptr;
  const VirtualHostConfig* best_suffix = nullptr;
  size_t best_suffix_length = 0;
  const VirtualHostConfig* best_prefix = nullptr;
  size_t best_prefix_length = 0;
  const VirtualHostConfig* any = nullptr;
  for (const VirtualHostConfig& vhost : virtual_hosts) {
    for (const std::string& domain : vhost.exact_domains) {
      if (domain == full) {
        return &vhost;  // "reviews:9080" names the authority with its port
      }
      if (domain == host && exact_host == nullptr) {
        exact_host = &vhost;
      }
    }
    for (const std::string& suffix : vhost.suffix_domains) {
      // "*.example.com" needs at least one character before the dot.
      if (host.size() > suffix.size() && host.ends_with(suffix) &&
          suffix.size() > best_suffix_length) {
        best_suffix = &vhost;
        best_suffix_length = suffix.size();
      }
    }
    for (const std::string& prefix : vhost.prefix_domains) {
      if (host.size() > prefix.size() && host.starts_with(prefix) &&
          prefix.size() > best_prefix_length) {
        best_prefix = &vhost;
        best_prefix_length = prefix.size();
      }
    }
    if (vhost.matches_any && any == nullptr) {
      any = &vhost;
    }
  }
  if (exact_host != nullptr) {
    return exact_host;
  }
  if (best_suffix != nullptr) {
    return best_suffix;
  }
  if (best_prefix != nullptr) {
    return best_prefix;
  }
  return any;
}

const RouteEntry* RouteTable::findRoute(const VirtualHostConfig& host, const RequestView& request) {
  const std::string_view path = request.path();
  for (const RouteEntry& route : host.routes) {
    if (route.matchesPath(path) &&
        (route.conditions.empty() || route.conditions.matches(request))) {
      return &route;
    }
  }
  return nullptr;
}

}  // namespace weft::proxy
