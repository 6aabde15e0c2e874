#include "proxy/upstream/health/http2_health_probe.h"

#include <nghttp2/nghttp2.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <memory>
#include <vector>

namespace weft::proxy {
namespace {

namespace asio = boost::asio;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// More of a response body than a health answer needs is not kept.
constexpr size_t kMaxBodyBytes = 1024;

// The probe's one stream, seen from nghttp2's callbacks.
struct ProbeStream {
  int32_t id = -1;
  unsigned status = 0;
  std::string grpc_status;  // from the headers (trailers-only) or the trailers
  std::string body;
  std::string request_body;
  size_t request_sent = 0;
  bool closed = false;
  uint32_t error_code = 0;
};

int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t name_length,
             const uint8_t* value, size_t value_length, uint8_t, void* user) {
  auto& stream = *static_cast<ProbeStream*>(user);
  if (frame->hd.stream_id != stream.id) {
    return 0;
  }
  const std::string_view key(reinterpret_cast<const char*>(name), name_length);
  const std::string_view text(reinterpret_cast<const char*>(value), value_length);
  if (key == ":status") {
    unsigned status = 0;
    for (char c : text) {
      status = status * 10 + static_cast<unsigned>(c - '0');
    }
    if (status >= 200) {  // interim responses (1xx) are followed by the final one
      stream.status = status;
    }
  } else if (key == "grpc-status") {
    stream.grpc_status = text;
  }
  return 0;
}

int onDataChunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data, size_t length,
                void* user) {
  auto& stream = *static_cast<ProbeStream*>(user);
  if (stream_id == stream.id && stream.body.size() < kMaxBodyBytes) {
    stream.body.append(reinterpret_cast<const char*>(data),
                       std::min(length, kMaxBodyBytes - stream.body.size()));
  }
  return 0;
}

int onStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user) {
  auto& stream = *static_cast<ProbeStream*>(user);
  if (stream_id == stream.id) {
    stream.closed = true;
    stream.error_code = error_code;
  }
  return 0;
}

ssize_t readRequestBody(nghttp2_session*, int32_t, uint8_t* buffer, size_t length, uint32_t* flags,
                        nghttp2_data_source*, void* user) {
  auto& stream = *static_cast<ProbeStream*>(user);
  const size_t count = std::min(length, stream.request_body.size() - stream.request_sent);
  std::copy_n(stream.request_body.data() + stream.request_sent, count, buffer);
  stream.request_sent += count;
  if (stream.request_sent == stream.request_body.size()) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
  }
  return static_cast<ssize_t>(count);
}

struct SessionDeleter {
  void operator()(nghttp2_session* session) const { nghttp2_session_del(session); }
};
using SessionPtr = std::unique_ptr<nghttp2_session, SessionDeleter>;

SessionPtr newSession(ProbeStream& stream) {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) {
    return nullptr;
  }
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &onHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &onStreamClose);
  nghttp2_session* session = nullptr;
  const int rv = nghttp2_session_client_new(&session, callbacks, &stream);
  nghttp2_session_callbacks_del(callbacks);
  return rv == 0 ? SessionPtr(session) : nullptr;
}

nghttp2_nv field(std::string_view name, std::string_view value) {
  return {const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(name.data())),
          const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(value.data())), name.size(),
          value.size(), NGHTTP2_NV_FLAG_NONE};
}

// What the probe asks, for failure messages.
std::string what(const HealthCheckConfig& config) {
  return config.probe == HealthCheckConfig::Probe::kGrpc ? "grpc.health.v1.Health/Check"
                                                         : "GET " + config.path + " (HTTP/2)";
}

ProbeResult verdict(const HealthCheckConfig& config, const ProbeStream& stream) {
  if (stream.status == 0) {
    return {false, what(config) + " was reset (HTTP/2 error code " +
                       std::to_string(stream.error_code) + ") before a response"};
  }
  if (config.probe != HealthCheckConfig::Probe::kGrpc) {
    if (!config.expectedStatus(stream.status)) {
      return {false, what(config) + " answered " + std::to_string(stream.status)};
    }
    return {true, {}};
  }
  if (stream.status != 200) {
    return {false, what(config) + " answered HTTP " + std::to_string(stream.status)};
  }
  if (stream.grpc_status != "0") {
    return {false, what(config) + " answered grpc-status " +
                       (stream.grpc_status.empty() ? "(none)" : stream.grpc_status)};
  }
  const std::optional<uint64_t> serving = grpcServingStatus(stream.body);
  if (!serving) {
    return {false, what(config) + " answered a malformed HealthCheckResponse"};
  }
  if (*serving != 1) {
    static constexpr std::array<std::string_view, 4> kNames = {"UNKNOWN", "SERVING", "NOT_SERVING",
                                                               "SERVICE_UNKNOWN"};
    return {false, what(config) + " answered " +
                       (*serving < kNames.size() ? std::string(kNames[*serving])
                                                 : "status " + std::to_string(*serving))};
  }
  return {true, {}};
}

}  // namespace

std::string grpcHealthCheckRequest(std::string_view service) {
  std::string message;
  if (!service.empty()) {
    message.push_back(0x0a);  // field 1, length-delimited
    for (size_t length = service.size();; length >>= 7) {
      if (length < 0x80) {
        message.push_back(static_cast<char>(length));
        break;
      }
      message.push_back(static_cast<char>((length & 0x7f) | 0x80));
    }
    message.append(service);
  }
  std::string framed(5, '\0');  // not compressed, then the length, big-endian
  const auto length = static_cast<uint32_t>(message.size());
  framed[1] = static_cast<char>(length >> 24);
  framed[2] = static_cast<char>(length >> 16);
  framed[3] = static_cast<char>(length >> 8);
  framed[4] = static_cast<char>(length);
  return framed + message;
}

std::optional<uint64_t> grpcServingStatus(std::string_view body) {
  if (body.size() < 5 || body[0] != 0) {
    return std::nullopt;
  }
  const uint32_t length = (static_cast<uint32_t>(static_cast<uint8_t>(body[1])) << 24) |
                          (static_cast<uint32_t>(static_cast<uint8_t>(body[2])) << 16) |
                          (static_cast<uint32_t>(static_cast<uint8_t>(body[3])) << 8) |
                          static_cast<uint32_t>(static_cast<uint8_t>(body[4]));
  if (body.size() - 5 < length) {
    return std::nullopt;
  }
  std::string_view message = body.substr(5, length);
  const auto varint = [&message]() -> std::optional<uint64_t> {
    uint64_t value = 0;
    for (int shift = 0; shift < 64 && !message.empty(); shift += 7) {
      const auto byte = static_cast<uint8_t>(message.front());
      message.remove_prefix(1);
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        return value;
      }
    }
    return std::nullopt;
  };
  uint64_t status = 0;  // proto3: an absent field is UNKNOWN (0)
  while (!message.empty()) {
    const std::optional<uint64_t> tag = varint();
    if (!tag) {
      return std::nullopt;
    }
    const uint64_t wire_type = *tag & 7;
    if (wire_type == 0) {
      const std::optional<uint64_t> value = varint();
      if (!value) {
        return std::nullopt;
      }
      if ((*tag >> 3) == 1) {
        status = *value;
      }
    } else if (wire_type == 2) {  // unknown length-delimited fields are skipped
      const std::optional<uint64_t> field_length = varint();
      if (!field_length || *field_length > message.size()) {
        return std::nullopt;
      }
      message.remove_prefix(*field_length);
    } else {
      return std::nullopt;
    }
  }
  return status;
}

asio::awaitable<ProbeResult> probeOverHttp2(UpstreamConnection& connection,
                                            const HealthCheckConfig& config, bool tls,
                                            std::chrono::steady_clock::time_point deadline) {
  ProbeStream stream;
  SessionPtr session = newSession(stream);
  if (!session) {
    co_return ProbeResult{false, "out of memory for an HTTP/2 session"};
  }
  const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
  nghttp2_submit_settings(session.get(), NGHTTP2_FLAG_NONE, settings, std::size(settings));
  const bool grpc = config.probe == HealthCheckConfig::Probe::kGrpc;
  std::vector<nghttp2_nv> headers = {
      field(":method", grpc ? "POST" : "GET"),
      field(":scheme", tls ? "https" : "http"),
      field(":authority", config.host),
      field(":path", grpc ? std::string_view("/grpc.health.v1.Health/Check") : config.path),
      field("user-agent", config.user_agent),
  };
  nghttp2_data_provider body{};
  if (grpc) {
    headers.push_back(field("content-type", "application/grpc"));
    headers.push_back(field("te", "trailers"));
    stream.request_body = grpcHealthCheckRequest(config.grpc_service);
    body.read_callback = &readRequestBody;
  } else {
    for (const auto& [name, value] : config.request_headers) {
      headers.push_back(field(name, value));
    }
  }
  stream.id = nghttp2_submit_request(session.get(), nullptr, headers.data(), headers.size(),
                                     grpc ? &body : nullptr, nullptr);
  if (stream.id < 0) {
    co_return ProbeResult{false,
                          std::string("HTTP/2 request refused: ") + nghttp2_strerror(stream.id)};
  }
  connection.stream.expires_at(deadline);
  std::string out;
  std::array<char, 16 * 1024> in{};
  // An HTTP probe needs only the final status; a gRPC one needs the whole answer.
  const auto answered = [&] { return stream.closed || (!grpc && stream.status != 0); };
  while (!answered()) {
    out.clear();
    const uint8_t* data = nullptr;
    ssize_t produced = 0;
    while ((produced = nghttp2_session_mem_send(session.get(), &data)) > 0) {
      out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(produced));
    }
    if (produced < 0) {
      co_return ProbeResult{false, std::string("HTTP/2 session failed: ") +
                                       nghttp2_strerror(static_cast<int>(produced))};
    }
    if (!out.empty()) {
      auto [error, written] =
          co_await asio::async_write(connection.stream, asio::buffer(out), kUseTuple);
      if (error) {
        co_return ProbeResult{false,
                              error == boost::beast::error::timeout
                                  ? what(config) + " timed out after " +
                                        std::to_string(config.timeout.count()) + " ms"
                                  : "sending " + what(config) + " failed: " + error.message()};
      }
    }
    if (answered()) {
      break;
    }
    if (nghttp2_session_want_read(session.get()) == 0 &&
        nghttp2_session_want_write(session.get()) == 0) {
      // The session ended (GOAWAY, or a protocol error of the peer) without our answer.
      co_return ProbeResult{false, what(config) + ": the endpoint ended the HTTP/2 session"};
    }
    auto [error, received] =
        co_await connection.stream.async_read_some(asio::buffer(in), kUseTuple);
    if (error) {
      co_return ProbeResult{false, error == boost::beast::error::timeout
                                       ? what(config) + " timed out after " +
                                             std::to_string(config.timeout.count()) + " ms"
                                       : what(config) + " got no response: " + error.message()};
    }
    const ssize_t consumed = nghttp2_session_mem_recv(
        session.get(), reinterpret_cast<const uint8_t*>(in.data()), received);
    if (consumed < 0) {
      co_return ProbeResult{false, what(config) + ": HTTP/2 protocol error from the endpoint (" +
                                       nghttp2_strerror(static_cast<int>(consumed)) + ")"};
    }
  }
  co_return verdict(config, stream);
}

}  // namespace weft::proxy
