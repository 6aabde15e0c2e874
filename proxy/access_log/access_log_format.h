#pragma once

#include <spdlog/common.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/access_log/access_log_record.h"

namespace weft::proxy {

// The fields of an access log line, in the order a JSON line lists them.
enum class AccessLogField : uint8_t {
  kStartTime,
  kDurationMs,
  kUpstreamServiceTimeMs,
  kProtocol,
  kMethod,
  kAuthority,
  kPath,
  kResponseCode,
  kGrpcStatus,
  kResponseFlags,
  kBytesReceived,
  kBytesSent,
  kUpstreamCluster,
  kUpstreamHost,
  kRouteName,
  kRequestId,
  kTraceparent,
  kTraceId,
  kDownstreamPeerAddress,
  kDownstreamPrincipal,
  kUpstreamPrincipal,
  kUserAgent,
  kRetries,
  kAuthz,
};

// A field's JSON key, e.g. "duration_ms"; upper-cased it is its TEXT placeholder.
std::string_view accessLogFieldName(AccessLogField field);

// How a line is written, compiled once from the AccessLog config: every field as one JSON
// object, or a text template whose %FIELD% placeholders are resolved to field ids up front so
// that writing a line only walks a list.
class AccessLogFormat {
 public:
  // One JSON object per line, with every field (null when the record has no value).
  static AccessLogFormat json();

  // `text`: literal text with %FIELD% placeholders (the JSON keys in upper case),
  // %ROUTE_METADATA(key)% for a value of the route's metadata, and %% for a percent sign. Empty
  // `error` on success; otherwise it names what is wrong
  // ("unknown field %STATUS% at offset 12").
  static AccessLogFormat text(std::string_view text, std::string& error);

  // Appends one line, newline included, to `out`. Absent values are null in JSON and "-" in
  // text; text values have control characters escaped, so a line never splits.
  void write(const AccessLogRecord& record, spdlog::memory_buf_t& out) const;

  bool isJson() const { return json_; }

 private:
  struct Piece {
    std::string literal;  // written before the field
    bool has_field = false;
    AccessLogField field = AccessLogField::kStartTime;
    // %ROUTE_METADATA(key)%: the route metadata value of this key (has_field false).
    std::string metadata_key;
    bool has_metadata = false;
  };
  void writeJson(const AccessLogRecord& record, spdlog::memory_buf_t& out) const;
  void writeText(const AccessLogRecord& record, spdlog::memory_buf_t& out) const;

  bool json_ = true;
  std::vector<Piece> pieces_;
};

}  // namespace weft::proxy
