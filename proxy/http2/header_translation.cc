#include "proxy/http2/header_translation.h"
#include "common/text/ascii.h"

#include "proxy/http1/hop_by_hop.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <cctype>
#include <functional>

namespace weft::proxy {
namespace {

namespace http = boost::beast::http;

// Emits the proxy's x-forwarded-for (the client's list, joined, plus the peer)
// and x-request-id (unless the client sent one).
void addForwardingFields(const HeaderList& fields, const ForwardingFacts& facts,
                         const std::function<void(std::string_view, std::string_view)>& emit) {
  std::string forwarded;
  bool has_request_id = false;
  for (const HeaderField& field : fields) {
    if (field.name == "x-forwarded-for") {
      forwarded.append(forwarded.empty() ? "" : ", ").append(field.value);
    } else if (field.name == "x-request-id") {
      has_request_id = true;
    }
  }
  if (!facts.peer_address.empty()) {
    forwarded.append(forwarded.empty() ? "" : ", ").append(facts.peer_address);
  }
  if (!forwarded.empty()) {
    emit("x-forwarded-for", forwarded);
  }
  if (!has_request_id && !facts.request_id.empty()) {
    emit("x-request-id", facts.request_id);
  }
  if (!facts.peer_principal.empty()) {
    std::string client_cert = "URI=";
    client_cert.append(facts.peer_principal);
    emit(kClientCertField, client_cert);
  }
}

}  // namespace

void HeaderCollector::add(std::string_view name, std::string_view value) {
  bytes_ += name.size() + value.size() + 32;
  ++count_;
  if (too_large_) {
    return;
  }
  if (bytes_ > max_bytes_ || count_ > max_count_) {
    too_large_ = true;
    fields_.clear();
    fields_.shrink_to_fit();
    return;
  }
  fields_.push_back({std::string(name), std::string(value)});
}

RequestHead splitRequestHead(HeaderList fields) {
  RequestHead head;
  std::string host;
  for (HeaderField& field : fields) {
    if (!field.name.empty() && field.name[0] == ':') {
      if (field.name == ":method") {
        head.method = std::move(field.value);
      } else if (field.name == ":scheme") {
        head.scheme = std::move(field.value);
      } else if (field.name == ":authority") {
        head.authority = std::move(field.value);
      } else if (field.name == ":path") {
        head.path = std::move(field.value);
      }
      continue;
    }
    if (field.name == "host") {
      host = std::move(field.value);
      continue;
    }
    if (field.name == "content-length") {
      head.has_content_length = true;
    }
    head.fields.push_back(std::move(field));
  }
  if (head.authority.empty()) {
    head.authority = std::move(host);
  }
  return head;
}

bool isConnectionSpecific(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "connection", "keep-alive", "proxy-connection",   "transfer-encoding", "upgrade",
      "te",         "trailer",    "proxy-authenticate", "http2-settings",    "proxy-authorization"};
  for (std::string_view candidate : kNames) {
    if (name == candidate) {
      return true;
    }
  }
  return false;
}

std::string http1RequestText(const RequestHead& head, const ForwardingFacts& facts, bool chunked) {
  std::string text;
  text.reserve(256);
  text.append(head.method).append(" ").append(facts.path).append(" HTTP/1.1\r\n");
  text.append("Host: ").append(head.authority).append("\r\n");
  std::string cookie;
  for (const HeaderField& field : head.fields) {
    if (isConnectionSpecific(field.name) || field.name == "x-forwarded-for" ||
        field.name == kClientCertField) {
      continue;
    }
    if (field.name == "cookie") {
      cookie.append(cookie.empty() ? "" : "; ").append(field.value);
      continue;
    }
    if (chunked && field.name == "content-length") {
      continue;
    }
    text.append(field.name).append(": ").append(field.value).append("\r\n");
  }
  if (!cookie.empty()) {
    text.append("cookie: ").append(cookie).append("\r\n");
  }
  addForwardingFields(head.fields, facts, [&text](std::string_view name, std::string_view value) {
    text.append(name).append(": ").append(value).append("\r\n");
  });
  if (chunked) {
    text.append("transfer-encoding: chunked\r\n");
  }
  text.append("\r\n");
  return text;
}

HeaderList http2RequestFields(const RequestHead& head, const ForwardingFacts& facts) {
  HeaderList out;
  out.reserve(head.fields.size() + 6);
  out.push_back({":method", head.method});
  out.push_back({":scheme", head.scheme.empty() ? "http" : head.scheme});
  out.push_back({":authority", head.authority});
  out.push_back({":path", facts.path});
  for (const HeaderField& field : head.fields) {
    if (field.name == "te") {
      if (boost::beast::iequals(field.value, "trailers")) {
        out.push_back(field);
      }
      continue;
    }
    if (isConnectionSpecific(field.name) || field.name == "x-forwarded-for" ||
        field.name == kClientCertField) {
      continue;
    }
    out.push_back(field);
  }
  addForwardingFields(head.fields, facts, [&out](std::string_view name, std::string_view value) {
    out.push_back({std::string(name), std::string(value)});
  });
  return out;
}

HeaderList http2ResponseFields(const http::response_header<>& response) {
  HeaderList out;
  out.reserve(16);
  out.push_back({":status", std::to_string(response.result_int())});
  std::vector<std::string> named;
  const auto connection = response[http::field::connection];
  if (!connection.empty()) {
    for (auto token : http::token_list{connection}) {
      named.push_back(text::lowerCaseAscii(token));
    }
  }
  for (const auto& field : response) {
    std::string name = text::lowerCaseAscii(field.name_string());
    if (isConnectionSpecific(name)) {
      continue;
    }
    bool listed = false;
    for (const std::string& candidate : named) {
      listed = listed || candidate == name;
    }
    if (listed && name != "content-length") {
      continue;
    }
    out.push_back({std::move(name), std::string(field.value())});
  }
  return out;
}

HeaderList filterResponseFields(HeaderList fields) {
  HeaderList out;
  out.reserve(fields.size());
  for (HeaderField& field : fields) {
    if (!isConnectionSpecific(field.name)) {
      out.push_back(std::move(field));
    }
  }
  return out;
}

HeaderList http1Trailers(const http::fields& fields, size_t header_count) {
  HeaderList out;
  size_t index = 0;
  for (const auto& field : fields) {
    if (index++ < header_count) {
      continue;
    }
    std::string name = text::lowerCaseAscii(field.name_string());
    if (isConnectionSpecific(name) || name == "content-length") {
      continue;  // framing and routing fields are not allowed in trailers
    }
    out.push_back({std::move(name), std::string(field.value())});
  }
  return out;
}

std::string http1LastChunk(const HeaderList& trailers) {
  std::string text = "0\r\n";
  for (const HeaderField& field : trailers) {
    if (field.name.empty() || field.name[0] == ':' || isConnectionSpecific(field.name) ||
        isForbiddenTrailer(field.name)) {
      continue;
    }
    text.append(field.name).append(": ").append(field.value).append("\r\n");
  }
  text.append("\r\n");
  return text;
}

}  // namespace weft::proxy
