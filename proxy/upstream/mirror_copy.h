#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "proxy/http2/header_translation.h"

namespace weft::proxy {

// A mirrored request goes in the protocol of the mirror cluster, which need not be the
// primary's: these turn a kept request from one form into the other. Both work on requests
// the proxy already forwarded (cleaned of connection-specific fields), so they only reframe.

// A request in HTTP/2 form: pseudo-headers first, then the fields; the body decoded.
struct Http2RequestCopy {
  HeaderList fields;
  std::string body;
};

// The HTTP/2 form of HTTP/1.1 wire text (head and framed body, chunked or not, as a
// RequestReplay keeps it). Host becomes ":authority"; the body is decoded and given its
// content-length; chunked trailers are dropped. nullopt when the text is not one whole request.
std::optional<Http2RequestCopy> http2Copy(std::string_view http1_request);

// The HTTP/1.1 wire text of an HTTP/2 request (`fields` pseudo-headers first, as
// http2RequestFields makes them) and its whole body, framed by Content-Length. Cookies split
// across fields are joined (RFC 9113 section 8.2.3); request trailers are not carried.
std::string http1Copy(const HeaderList& fields, std::string_view body);

}  // namespace weft::proxy
