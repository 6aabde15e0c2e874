#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace weft::proxy {

// One header field as HTTP/2 carries it: lower-case name, pseudo-headers
// (":status", ":path", ...) included.
struct HeaderField {
  std::string name;
  std::string value;

  bool operator==(const HeaderField&) const = default;
};

using HeaderList = std::vector<HeaderField>;

// Collects a header block as it is decoded, within limits: once the block is
// larger than `max_bytes` (RFC 9113 section 6.5.2 size: name + value + 32 per
// field) or has more than `max_count` fields, further fields are dropped and
// `tooLarge()` reports it, so a hostile block costs no more memory than the limit.
class HeaderCollector {
 public:
  HeaderCollector(uint32_t max_bytes, uint32_t max_count)
      : max_bytes_(max_bytes), max_count_(max_count) {
    fields_.reserve(kTypicalFieldCount);  // one allocation for a usual request
  }

  void add(std::string_view name, std::string_view value);
  bool tooLarge() const { return too_large_; }
  size_t byteSize() const { return bytes_; }
  size_t count() const { return count_; }
  HeaderList& fields() { return fields_; }

 private:
  uint32_t max_bytes_;
  uint32_t max_count_;
  size_t bytes_ = 0;
  size_t count_ = 0;
  static constexpr size_t kTypicalFieldCount = 16;
  bool too_large_ = false;
  HeaderList fields_;
};

// The request's pseudo-headers and ordinary fields, split apart.
struct RequestHead {
  std::string method;
  std::string scheme;
  std::string authority;  // ":authority", or the Host field when it is absent
  std::string path;
  HeaderList fields;  // ordinary fields, Host excluded
  bool has_content_length = false;
};

RequestHead splitRequestHead(HeaderList fields);

// What the proxy adds to a forwarded request, whatever the protocol.
struct ForwardingFacts {
  std::string peer_address;  // appended to x-forwarded-for when not empty
  std::string request_id;    // set as x-request-id when not empty and none is present
  std::string path;          // the path to send (after any prefix rewrite)
  // The verified mTLS peer's SPIFFE id, passed on as "x-forwarded-client-cert: URI=<id>";
  // whatever the client sent in that field is dropped either way.
  std::string_view peer_principal;
};

// The field that tells the application who called it over mTLS (as Envoy's XFCC does).
inline constexpr std::string_view kClientCertField = "x-forwarded-client-cert";

// Whether an HTTP/2 message may carry this field when it goes to HTTP/1.1 or
// comes from it: connection-specific fields (RFC 9113 section 8.2.2) and the
// hop-by-hop fields the proxy never forwards are dropped.
bool isConnectionSpecific(std::string_view lower_name);

// The HTTP/1.1 request header for an HTTP/2 request, as wire text ending in the
// blank line: ":authority" becomes Host, cookies split by HTTP/2 are joined
// (RFC 9113 section 8.2.3), connection-specific fields dropped. `chunked` asks
// for Transfer-Encoding: chunked (a body without Content-Length).
std::string http1RequestText(const RequestHead& head, const ForwardingFacts& facts, bool chunked);

// The fields of an HTTP/2 request to an HTTP/2 upstream: pseudo-headers first,
// connection-specific fields dropped except "te: trailers" (which gRPC needs).
HeaderList http2RequestFields(const RequestHead& head, const ForwardingFacts& facts);

// The HTTP/2 response fields for an HTTP/1.1 response header: ":status", then
// the fields lower-cased, minus connection-specific ones and those the
// Connection field names.
HeaderList http2ResponseFields(const boost::beast::http::response_header<>& response);

// The fields of an HTTP/2 response from an HTTP/2 upstream, cleaned the same way.
HeaderList filterResponseFields(HeaderList fields);

// The trailer fields of an HTTP/1.1 message whose first `header_count` fields
// were the header (Beast appends chunked trailers to the same field list).
HeaderList http1Trailers(const boost::beast::http::fields& fields, size_t header_count);

// The chunked trailer section for HTTP/1.1 ("0\r\n" + fields + "\r\n").
std::string http1LastChunk(const HeaderList& trailers);

}  // namespace weft::proxy
