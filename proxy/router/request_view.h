#pragma once

#include <boost/asio/ip/address.hpp>
#include <string>
#include <string_view>

namespace weft::proxy {

// Read access to a request's header fields, whatever protocol carried them, so
// that route matching and hash policies are written once for HTTP/1.1 and
// HTTP/2.
class HeaderLookup {
 public:
  virtual ~HeaderLookup() = default;

  // The value of the field named `lower_name` (lower-case, not a pseudo-header),
  // or false when the request has none. Several fields of that name are joined
  // with ", " into `scratch` (RFC 9110 section 5.3), which then backs `value`;
  // a single field is returned in place, without a copy.
  virtual bool find(std::string_view lower_name, std::string& scratch,
                    std::string_view& value) const = 0;
};

// What the router sees of one request. Views only: the session owns the data
// and keeps it alive for the routing call.
struct RequestView {
  std::string_view method;     // "GET", ...
  std::string_view scheme;     // "http" or "https"
  std::string_view authority;  // Host or :authority
  std::string_view target;     // path with query, as received
  const HeaderLookup* headers = nullptr;
  boost::asio::ip::address source;  // the downstream peer
  // Only when the view is of a response (a retry policy's retriable_headers): its status as
  // ":status", which an HTTP/1.1 response does not carry as a field.
  std::string_view status;

  // Like HeaderLookup::find, pseudo-headers (":method", ":authority", ":path",
  // ":scheme") included.
  bool findHeader(std::string_view lower_name, std::string& scratch, std::string_view& value) const;

  std::string_view path() const { return target.substr(0, target.find('?')); }
  // The query string without '?', empty when there is none.
  std::string_view query() const {
    const size_t mark = target.find('?');
    return mark == std::string_view::npos ? std::string_view() : target.substr(mark + 1);
  }
};

}  // namespace weft::proxy
