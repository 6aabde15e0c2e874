#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace weft::proxy {

// Removes the headers that belong to one connection (RFC 9110 section 7.6.1),
// and those the Connection header names, before a message crosses the proxy.
// Framing headers (Content-Length, Transfer-Encoding) stay: bodies are relayed
// with the framing they arrived in. Trailer stays too: it announces trailer
// fields, which are relayed end to end.
template <bool IsRequest, class Body>
void removeHopByHopHeaders(boost::beast::http::message<IsRequest, Body>& header) {
  namespace http = boost::beast::http;
  const auto connection = header[http::field::connection];
  if (!connection.empty()) {
    std::vector<std::string> named;
    for (auto token : http::token_list{connection}) {
      named.emplace_back(token);
    }
    for (const std::string& name : named) {
      if (!boost::beast::iequals(name, "content-length") &&
          !boost::beast::iequals(name, "transfer-encoding")) {
        header.erase(name);
      }
    }
    header.erase(http::field::connection);
  }
  for (http::field field :
       {http::field::keep_alive, http::field::proxy_connection, http::field::te,
        http::field::upgrade, http::field::proxy_authenticate, http::field::proxy_authorization}) {
    header.erase(field);
  }
}

// Whether a field may not be relayed in a trailer section (RFC 9110 section
// 6.5.1): framing, routing and connection fields would change how the message
// or the next one is read.
inline bool isForbiddenTrailer(std::string_view name) {
  for (std::string_view forbidden :
       {"transfer-encoding", "content-length", "host", "connection", "keep-alive", "te", "trailer",
        "upgrade", "proxy-connection", "proxy-authenticate", "proxy-authorization",
        "content-encoding", "content-type", "content-range", "expect", "max-forwards"}) {
    if (boost::beast::iequals(name, forbidden)) {
      return true;
    }
  }
  return false;
}

}  // namespace weft::proxy
