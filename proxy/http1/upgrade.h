#pragma once

#include <boost/beast/http/fields.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace weft::proxy {

// The Upgrade value to forward for an HTTP/1.1 request (RFC 9110 section 7.8):
// the offered protocols whose name (the part before any "/version") is in
// `allowed` (lower-case), in the client's order. Empty when the request is not
// an upgrade (no "upgrade" token in Connection) or offers nothing allowed; the
// request then goes on as a plain request without Upgrade.
std::string allowedUpgrade(const boost::beast::http::fields& request,
                           const std::vector<std::string>& allowed);

// Whether the protocol a 101 response switched to (its Upgrade value) was one
// of those offered in `offered` (the forwarded Upgrade value).
bool upgradeWasOffered(std::string_view chosen, std::string_view offered);

}  // namespace weft::proxy
