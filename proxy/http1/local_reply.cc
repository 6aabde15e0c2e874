#include "proxy/http1/local_reply.h"

#include <boost/beast/http/field.hpp>

namespace weft::proxy {

std::vector<std::string> responseFlagNames() {
  std::vector<std::string> names{"-"};
  for (uint8_t reason = 0;
       responseFlag(static_cast<LocalReplyReason>(reason)) < kFlagDownstreamDisconnect; ++reason) {
    names.emplace_back(localReplyCode(static_cast<LocalReplyReason>(reason)));
  }
  names.emplace_back("downstream_disconnect");
  names.emplace_back("upstream_reset_after_response");
  return names;
}

std::string_view responseFlagName(uint8_t flag) {
  if (flag == kNoResponseFlag) {
    return "-";
  }
  if (flag == kFlagDownstreamDisconnect) {
    return "downstream_disconnect";
  }
  if (flag == kFlagUpstreamResetAfterResponse) {
    return "upstream_reset_after_response";
  }
  if (flag < kFlagDownstreamDisconnect) {
    return localReplyCode(static_cast<LocalReplyReason>(flag - 1));
  }
  return "unknown";
}

std::string_view localReplyCode(LocalReplyReason reason) {
  switch (reason) {
    case LocalReplyReason::kBadRequest:
      return "bad_request";
    case LocalReplyReason::kHeadersTooLarge:
      return "request_headers_too_large";
    case LocalReplyReason::kNoRoute:
      return "no_route";
    case LocalReplyReason::kDirectResponse:
      return "direct_response";
    case LocalReplyReason::kEscapedSlash:
      return "escaped_slash";
    case LocalReplyReason::kRedirect:
      return "redirect";
    case LocalReplyReason::kNoHealthyUpstream:
      return "no_healthy_upstream";
    case LocalReplyReason::kUpstreamConnectFail:
      return "upstream_connect_failure";
    case LocalReplyReason::kUpstreamTimeout:
      return "upstream_timeout";
    case LocalReplyReason::kUpstreamReset:
      return "upstream_reset";
    case LocalReplyReason::kUpstreamOverflow:
      return "upstream_overflow";
    case LocalReplyReason::kStreamIdleTimeout:
      return "stream_idle_timeout";
    case LocalReplyReason::kAuthzDenied:
      return "authz_denied";
    case LocalReplyReason::kFaultAbort:
      return "fault_abort";
    case LocalReplyReason::kRateLimited:
      return "rate_limited";
  }
  return "unknown";
}

unsigned grpcStatusFor(LocalReplyReason reason) {
  switch (reason) {
    case LocalReplyReason::kUpstreamTimeout:
    case LocalReplyReason::kStreamIdleTimeout:
      return 4;  // DEADLINE_EXCEEDED
    case LocalReplyReason::kNoRoute:
      return 12;  // UNIMPLEMENTED
    case LocalReplyReason::kHeadersTooLarge:
    case LocalReplyReason::kRateLimited:
      return 8;  // RESOURCE_EXHAUSTED
    case LocalReplyReason::kBadRequest:
    case LocalReplyReason::kEscapedSlash:
      return 13;  // INTERNAL
    case LocalReplyReason::kAuthzDenied:
      return 7;  // PERMISSION_DENIED
    case LocalReplyReason::kNoHealthyUpstream:
    case LocalReplyReason::kUpstreamConnectFail:
    case LocalReplyReason::kUpstreamReset:
    case LocalReplyReason::kUpstreamOverflow:
    case LocalReplyReason::kFaultAbort:
    case LocalReplyReason::kDirectResponse:
    case LocalReplyReason::kRedirect:
      return 14;  // UNAVAILABLE
  }
  return 2;  // UNKNOWN
}

std::string grpcMessageText(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte > 0x7e || c == '%') {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

LocalResponse makeLocalReply(LocalReplyReason reason, unsigned status, std::string_view detail,
                             unsigned http_version, bool keep_alive, bool head_request) {
  namespace http = boost::beast::http;
  LocalResponse response{static_cast<http::status>(status), http_version};
  response.set(http::field::server, "weft");
  const bool bodiless_status = status < 200 || status == 204 || status == 304;
  // Configured answers are the route's behaviour, not a failure to explain.
  const bool configured =
      reason == LocalReplyReason::kDirectResponse || reason == LocalReplyReason::kRedirect;
  if (!configured) {
    response.set("x-weft-reason", localReplyCode(reason));
  }
  if (!bodiless_status) {
    if (!configured) {
      response.set(http::field::content_type, "text/plain");
      response.body().assign(detail);
      response.body().push_back('\n');
    } else {
      response.body().assign(detail);
    }
  }
  response.keep_alive(keep_alive);
  response.prepare_payload();
  if (head_request) {
    response.body().clear();  // the headers describe the body a GET would get
  }
  return response;
}

}  // namespace weft::proxy
