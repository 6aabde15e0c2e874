#include "proxy/access_log/access_log_format.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <array>
#include <ctime>

#include "common/log/json_formatter.h"

namespace weft::proxy {

namespace {

constexpr std::array<std::string_view, 24> kFieldNames = {
    "start_time",
    "duration_ms",
    "upstream_service_time_ms",
    "protocol",
    "method",
    "authority",
    "path",
    "response_code",
    "grpc_status",
    "response_flags",
    "bytes_received",
    "bytes_sent",
    "upstream_cluster",
    "upstream_host",
    "route_name",
    "request_id",
    "traceparent",
    "trace_id",
    "downstream_peer_address",
    "downstream_principal",
    "upstream_principal",
    "user_agent",
    "retries",
    "authz",
};
static_assert(kFieldNames.size() == static_cast<size_t>(AccessLogField::kAuthz) + 1);

void append(spdlog::memory_buf_t& out, std::string_view text) {
  out.append(text.data(), text.data() + text.size());
}

// A field's value as it is written: nothing (absent), a number, or text. Numbers and the
// proxy's own texts (times, addresses) need no escaping; request texts do.
struct FieldValue {
  enum class Kind { kAbsent, kNumber, kText } kind = Kind::kAbsent;
  // The value when it is not text from the request: formatted here, without allocating.
  std::array<char, 64> own{};
  size_t own_size = 0;
  std::string_view text;

  std::string_view ownText() const { return {own.data(), own_size}; }
};

template <typename... Args>
void formatOwn(FieldValue& value, FieldValue::Kind kind, fmt::format_string<Args...> format,
               Args&&... args) {
  const auto result =
      fmt::format_to_n(value.own.data(), value.own.size(), format, std::forward<Args>(args)...);
  value.own_size = std::min(result.size, value.own.size());
  value.kind = kind;
}

void formatMilliseconds(FieldValue& value, std::chrono::steady_clock::duration duration) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(duration).count();
  formatOwn(value, FieldValue::Kind::kNumber, "{}.{:03}", micros / 1000, micros % 1000);
}

// "10.0.0.7:8080" or "[fd00::7]:8080", written without allocating.
void formatEndpoint(FieldValue& value, const boost::asio::ip::tcp::endpoint& endpoint) {
  std::array<char, INET6_ADDRSTRLEN> address{};
  const boost::asio::ip::address& ip = endpoint.address();
  if (ip.is_v4()) {
    const auto bytes = ip.to_v4().to_bytes();
    inet_ntop(AF_INET, bytes.data(), address.data(), address.size());
    formatOwn(value, FieldValue::Kind::kText, "{}:{}", address.data(), endpoint.port());
  } else {
    const auto bytes = ip.to_v6().to_bytes();
    inet_ntop(AF_INET6, bytes.data(), address.data(), address.size());
    formatOwn(value, FieldValue::Kind::kText, "[{}]:{}", address.data(), endpoint.port());
  }
}

// RFC 3339 in UTC with milliseconds, e.g. "2026-11-28T08:30:00.123Z".
void formatTime(FieldValue& value, std::chrono::system_clock::time_point time) {
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  formatOwn(value, FieldValue::Kind::kText, "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min,
            parts.tm_sec, millis % 1000);
}

void setText(FieldValue& value, std::string_view text) {
  if (!text.empty()) {
    value.kind = FieldValue::Kind::kText;
    value.text = text;
  }
}

FieldValue valueOf(const AccessLogRecord& record, AccessLogField field) {
  FieldValue value;
  switch (field) {
    case AccessLogField::kStartTime:
      formatTime(value, record.start_time);
      break;
    case AccessLogField::kDurationMs:
      formatMilliseconds(value, record.duration);
      break;
    case AccessLogField::kUpstreamServiceTimeMs:
      if (record.upstream_service_time) {
        formatMilliseconds(value, *record.upstream_service_time);
      }
      break;
    case AccessLogField::kProtocol:
      setText(value, record.protocol);
      break;
    case AccessLogField::kMethod:
      setText(value, record.method);
      break;
    case AccessLogField::kAuthority:
      setText(value, record.authority);
      break;
    case AccessLogField::kPath:
      setText(value, record.path);
      break;
    case AccessLogField::kResponseCode:
      if (record.protocol != "TCP") {
        formatOwn(value, FieldValue::Kind::kNumber, "{}", record.response_code);
      }
      break;
    case AccessLogField::kGrpcStatus:
      if (record.grpc_status >= 0) {
        formatOwn(value, FieldValue::Kind::kNumber, "{}", record.grpc_status);
      }
      break;
    case AccessLogField::kResponseFlags:
      setText(value, record.response_flags);
      break;
    case AccessLogField::kBytesReceived:
      formatOwn(value, FieldValue::Kind::kNumber, "{}", record.bytes_received);
      break;
    case AccessLogField::kBytesSent:
      formatOwn(value, FieldValue::Kind::kNumber, "{}", record.bytes_sent);
      break;
    case AccessLogField::kUpstreamCluster:
      setText(value, record.upstream_cluster);
      break;
    case AccessLogField::kUpstreamHost:
      if (record.upstream_host) {
        formatEndpoint(value, *record.upstream_host);
      }
      break;
    case AccessLogField::kRouteName:
      setText(value, record.route_name);
      break;
    case AccessLogField::kRequestId:
      setText(value, record.request_id);
      break;
    case AccessLogField::kTraceparent:
      setText(value, record.traceparent);
      break;
    case AccessLogField::kTraceId:
      setText(value, record.trace_id);
      break;
    case AccessLogField::kDownstreamPeerAddress:
      formatEndpoint(value, record.downstream_peer);
      break;
    case AccessLogField::kDownstreamPrincipal:
      setText(value, record.downstream_principal);
      break;
    case AccessLogField::kUpstreamPrincipal:
      setText(value, record.upstream_principal);
      break;
    case AccessLogField::kUserAgent:
      setText(value, record.user_agent);
      break;
    case AccessLogField::kRetries:
      formatOwn(value, FieldValue::Kind::kNumber, "{}", record.retries);
      break;
    case AccessLogField::kAuthz:
      setText(value, record.authz);
      break;
  }
  return value;
}

// Text from the request as it goes into a TEXT line: control characters, DEL and the
// backslash become \xNN, so a line never splits and stays unambiguous.
void appendEscapedText(std::string_view text, spdlog::memory_buf_t& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f || byte == '\\') {
      const char escaped[4] = {'\\', 'x', kHex[byte >> 4], kHex[byte & 0xf]};
      out.append(escaped, escaped + 4);
    } else {
      out.push_back(c);
    }
  }
}

}  // namespace

std::string_view accessLogFieldName(AccessLogField field) {
  return kFieldNames[static_cast<size_t>(field)];
}

AccessLogFormat AccessLogFormat::json() {
  return AccessLogFormat();
}

AccessLogFormat AccessLogFormat::text(std::string_view text, std::string& error) {
  AccessLogFormat format;
  format.json_ = false;
  Piece piece;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t percent = text.find('%', pos);
    if (percent == std::string_view::npos) {
      piece.literal.append(text.substr(pos));
      break;
    }
    piece.literal.append(text.substr(pos, percent - pos));
    const size_t close = text.find('%', percent + 1);
    if (close == std::string_view::npos) {
      error = "unclosed % at offset " + std::to_string(percent) + " (write %% for a percent sign)";
      return format;
    }
    if (close == percent + 1) {
      piece.literal.push_back('%');  // "%%"
      pos = close + 1;
      continue;
    }
    const std::string_view name = text.substr(percent + 1, close - percent - 1);
    static constexpr std::string_view kMetadata = "ROUTE_METADATA(";
    if (name.starts_with(kMetadata) && name.ends_with(")") && name.size() > kMetadata.size() + 1) {
      piece.metadata_key =
          std::string(name.substr(kMetadata.size(), name.size() - kMetadata.size() - 1));
      piece.has_metadata = true;
      format.pieces_.push_back(std::move(piece));
      piece = Piece();
      pos = close + 1;
      continue;
    }
    bool found = false;
    for (size_t i = 0; i < kFieldNames.size(); ++i) {
      std::string upper(kFieldNames[i]);
      for (char& c : upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
      if (upper == name) {
        piece.has_field = true;
        piece.field = static_cast<AccessLogField>(i);
        found = true;
        break;
      }
    }
    if (!found) {
      error = "unknown field %" + std::string(name.substr(0, 64)) + "% at offset " +
              std::to_string(percent);
      return format;
    }
    format.pieces_.push_back(std::move(piece));
    piece = Piece();
    pos = close + 1;
  }
  if (!piece.literal.empty()) {
    format.pieces_.push_back(std::move(piece));
  }
  return format;
}

void AccessLogFormat::write(const AccessLogRecord& record, spdlog::memory_buf_t& out) const {
  if (json_) {
    writeJson(record, out);
  } else {
    writeText(record, out);
  }
  out.push_back('\n');
}

void AccessLogFormat::writeJson(const AccessLogRecord& record, spdlog::memory_buf_t& out) const {
  out.push_back('{');
  for (size_t i = 0; i < kFieldNames.size(); ++i) {
    if (i != 0) {
      out.push_back(',');
    }
    out.push_back('"');
    append(out, kFieldNames[i]);
    append(out, "\":");
    const FieldValue value = valueOf(record, static_cast<AccessLogField>(i));
    switch (value.kind) {
      case FieldValue::Kind::kAbsent:
        append(out, "null");
        break;
      case FieldValue::Kind::kNumber:
        append(out, value.ownText());
        break;
      case FieldValue::Kind::kText:
        log::appendJsonString(value.own_size != 0 ? value.ownText() : value.text, out);
        break;
    }
  }
  out.push_back('}');
}

void AccessLogFormat::writeText(const AccessLogRecord& record, spdlog::memory_buf_t& out) const {
  for (const Piece& piece : pieces_) {
    append(out, piece.literal);
    if (piece.has_metadata) {
      std::string_view value;
      if (record.route_metadata != nullptr) {
        for (const auto& [key, entry] : *record.route_metadata) {
          if (key == piece.metadata_key) {
            value = entry;
            break;
          }
        }
      }
      if (value.empty()) {
        out.push_back('-');
      } else {
        appendEscapedText(value, out);
      }
      continue;
    }
    if (!piece.has_field) {
      continue;
    }
    const FieldValue value = valueOf(record, piece.field);
    if (value.kind == FieldValue::Kind::kAbsent) {
      out.push_back('-');
    } else if (value.own_size != 0) {
      append(out, value.ownText());
    } else {
      appendEscapedText(value.text, out);
    }
  }
}

}  // namespace weft::proxy
