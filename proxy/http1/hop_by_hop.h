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
  }
  // One pass over the fields comparing known-field codes, rather than a tree
  // lookup per hop-by-hop name: this runs on both messages of every request.
  for (auto field = header.begin(); field != header.end();) {
    switch (field->name()) {
      case http::field::connection:
      case http::field::keep_alive:
      case http::field::proxy_connection:
      case http::field::te:
      case http::field::upgrade:
      case http::field::proxy_authenticate:
      case http::field::proxy_authorization:
        field = header.erase(field);
        break;
      default:
        ++field;
    }
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
