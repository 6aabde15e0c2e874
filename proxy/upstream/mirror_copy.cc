#include "proxy/upstream/mirror_copy.h"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "common/text/ascii.h"
#include "proxy/router/grpc_timeout.h"
#include "proxy/upstream/upstream_retry.h"

namespace weft::proxy {

namespace http = boost::beast::http;

std::optional<Http2RequestCopy> http2Copy(std::string_view http1_request) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<uint32_t>(RequestReplay::kLimit));
  parser.body_limit(RequestReplay::kLimit);
  // The header first (Beast then stops before the body), to know where its fields end:
  // chunked trailers are appended to the same list.
  size_t header_fields = 0;
  size_t offset = 0;
  while (!parser.is_done() && offset < http1_request.size()) {
    if (parser.is_header_done() && !parser.eager()) {
      header_fields = static_cast<size_t>(
          std::distance(parser.get().base().begin(), parser.get().base().end()));
      parser.eager(true);
    }
    boost::beast::error_code error;
    const size_t used = parser.put(
        boost::asio::buffer(http1_request.data() + offset, http1_request.size() - offset), error);
    if (error || used == 0) {
      return std::nullopt;
    }
    offset += used;
  }
  if (!parser.is_done()) {
    return std::nullopt;
  }
  if (!parser.eager()) {  // no body: the header was all
    header_fields =
        static_cast<size_t>(std::distance(parser.get().base().begin(), parser.get().base().end()));
  }
  http::request<http::string_body> request = parser.release();
  Http2RequestCopy copy;
  copy.fields.reserve(header_fields + 5);
  copy.fields.push_back({":method", std::string(request.method_string())});
  copy.fields.push_back({":scheme", "http"});
  copy.fields.push_back({":authority", std::string(request[http::field::host])});
  copy.fields.push_back({":path", std::string(request.target())});
  size_t index = 0;
  bool grpc = false;
  bool te_trailers = false;
  for (const auto& field : request) {
    if (index++ == header_fields) {
      break;  // the trailers
    }
    std::string name = text::lowerCaseAscii(field.name_string());
    grpc = grpc || (name == "content-type" && isGrpcContentType(field.value()));
    te_trailers = te_trailers || (name == "te" && boost::beast::iequals(field.value(), "trailers"));
    if (name == "host" || name == "content-length" ||
        (isConnectionSpecific(name) &&
         !(name == "te" && boost::beast::iequals(field.value(), "trailers")))) {
      continue;
    }
    copy.fields.push_back({std::move(name), std::string(field.value())});
  }
  if (grpc && !te_trailers) {
    // gRPC over HTTP/2 requires it; an HTTP/1.1 hop (an HTTP/2 client's request relayed to
    // an HTTP/1.1 cluster) drops it as hop-by-hop.
    copy.fields.push_back({"te", "trailers"});
  }
  copy.body = std::move(request.body());
  if (!copy.body.empty() || request.has_content_length()) {
    copy.fields.push_back({"content-length", std::to_string(copy.body.size())});
  }
  return copy;
}

std::string http1Copy(const HeaderList& fields, std::string_view body) {
  std::string_view method;
  std::string_view path;
  std::string_view authority;
  for (const HeaderField& field : fields) {
    if (field.name == ":method") {
      method = field.value;
    } else if (field.name == ":path") {
      path = field.value;
    } else if (field.name == ":authority") {
      authority = field.value;
    }
  }
  std::string text;
  text.reserve(256 + body.size());
  text.append(method).append(" ").append(path).append(" HTTP/1.1\r\n");
  text.append("Host: ").append(authority).append("\r\n");
  std::string cookie;
  bool had_length = false;
  for (const HeaderField& field : fields) {
    if (field.name.empty() || field.name[0] == ':' || isConnectionSpecific(field.name)) {
      continue;
    }
    if (field.name == "content-length") {
      had_length = true;
    } else if (field.name == "cookie") {
      cookie.append(cookie.empty() ? "" : "; ").append(field.value);
    } else {
      text.append(field.name).append(": ").append(field.value).append("\r\n");
    }
  }
  if (!cookie.empty()) {
    text.append("cookie: ").append(cookie).append("\r\n");
  }
  if (had_length || !body.empty()) {
    text.append("content-length: ").append(std::to_string(body.size())).append("\r\n");
  }
  text.append("\r\n").append(body);
  return text;
}

}  // namespace weft::proxy
