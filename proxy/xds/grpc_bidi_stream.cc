#include "proxy/xds/grpc_bidi_stream.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <cstring>

namespace weft::proxy::xds {
namespace {

// Stream and connection windows: a large discovery response arrives without waiting for
// WINDOW_UPDATEs, and the bound stays far below what the message limit allows anyway.
constexpr int32_t kStreamWindow = 4 << 20;
constexpr int32_t kConnectionWindow = 16 << 20;

// gRPC status codes used here (grpc/include/grpc/impl/codegen/status.h).
constexpr int kCancelled = 1;
constexpr int kUnknown = 2;
constexpr int kPermissionDenied = 7;
constexpr int kUnimplemented = 12;
constexpr int kInternal = 13;
constexpr int kUnavailable = 14;
constexpr int kUnauthenticated = 16;

// What a call without grpc-status means, by HTTP status (gRPC's http-grpc-status-mapping.md).
int statusOfHttp(int http_status) {
  switch (http_status) {
    case 400:
      return kInternal;
    case 401:
      return kUnauthenticated;
    case 403:
      return kPermissionDenied;
    case 404:
      return kUnimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return kUnavailable;
    default:
      return kUnknown;
  }
}

// grpc-message is percent-encoded (PROTOCOL-HTTP2.md).
std::string percentDecoded(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned value = 0;
    if (text[i] == '%' && i + 2 < text.size() &&
        std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16).ptr ==
            text.data() + i + 3) {
      out.push_back(static_cast<char>(value));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

nghttp2_nv header(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

std::string grpcStatusCodeName(int code) {
  static constexpr std::array<std::string_view, 17> kNames = {
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED",
  };
  if (code >= 0 && static_cast<size_t>(code) < kNames.size()) {
    return std::string(kNames[static_cast<size_t>(code)]);
  }
  return "CODE_" + std::to_string(code);
}

GrpcBidiStream::GrpcBidiStream(boost::asio::io_context& io_context, GrpcCallOptions options,
                               Handlers handlers)
    : io_context_(io_context),
      options_(std::move(options)),
      handlers_(std::move(handlers)),
      resolver_(io_context),
      socket_(io_context),
      connect_timer_(io_context),
      ping_timer_(io_context),
      ping_deadline_(io_context),
      reader_(options_.max_message_bytes) {}

GrpcBidiStream::~GrpcBidiStream() {
  if (session_ != nullptr) {
    nghttp2_session_del(session_);
  }
}

std::string GrpcBidiStream::authority() const {
  const bool v6 = options_.host.find(':') != std::string::npos;
  return (v6 ? "[" + options_.host + "]" : options_.host) + ":" + std::to_string(options_.port);
}

void GrpcBidiStream::start() {
  auto self = shared_from_this();
  connect_timer_.expires_after(options_.connect_timeout);
  connect_timer_.async_wait([self](const boost::system::error_code& error) {
    if (!error && self->session_ == nullptr) {
      self->fail({kUnavailable, "connecting to " + self->authority() + " timed out after " +
                                    std::to_string(self->options_.connect_timeout.count()) +
                                    " ms"});
    }
  });
  resolver_.async_resolve(options_.host, std::to_string(options_.port),
                          [self](const boost::system::error_code& error,
                                 const boost::asio::ip::tcp::resolver::results_type& endpoints) {
                            if (self->done_) {
                              return;
                            }
                            if (error) {
                              self->fail({kUnavailable, "cannot resolve " + self->options_.host +
                                                            ": " + error.message()});
                              return;
                            }
                            self->connect(endpoints);
                          });
}

void GrpcBidiStream::connect(const boost::asio::ip::tcp::resolver::results_type& endpoints) {
  boost::asio::async_connect(
      socket_, endpoints,
      [self = shared_from_this()](const boost::system::error_code& error,
                                  const boost::asio::ip::tcp::endpoint&) {
        if (self->done_) {
          return;
        }
        if (error) {
          self->fail(
              {kUnavailable, "cannot connect to " + self->authority() + ": " + error.message()});
          return;
        }
        if (self->options_.tls) {
          self->startTls();
        } else {
          self->onConnected();
        }
      });
}

void GrpcBidiStream::startTls() {
  std::string error;
  tls_context_ = options_.tls->makeContext(error);
  if (!tls_context_) {
    fail({kUnavailable, error});
    return;
  }
  tls_ = std::make_unique<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>>(socket_,
                                                                                   *tls_context_);
  if (!options_.tls->prepare(tls_->native_handle(), error)) {
    fail({kUnavailable, error});
    return;
  }
  tls_->async_handshake(
      boost::asio::ssl::stream_base::client,
      [self = shared_from_this()](const boost::system::error_code& handshake_error) {
        if (self->done_) {
          return;
        }
        SSL* ssl = self->tls_->native_handle();
        if (handshake_error) {
          // A failed verification says which check failed, with the name expected.
          const long verify = SSL_get_verify_result(ssl);
          std::string why = verify != X509_V_OK
                                ? std::string("the control plane's certificate was refused: ") +
                                      X509_verify_cert_error_string(verify) + " (expected " +
                                      self->options_.tls->serverName() + ", roots from " +
                                      self->options_.tls->rootsSource() + ")"
                                : handshake_error.message();
          self->fail({kUnavailable, "TLS handshake with " + self->authority() + " failed: " + why});
          return;
        }
        if (std::string why = self->options_.tls->checkPeer(ssl); !why.empty()) {
          self->fail({kUnavailable, "TLS to " + self->authority() + ": " + why});
          return;
        }
        self->onConnected();
      });
}

void GrpcBidiStream::onConnected() {
  connect_timer_.cancel();
  boost::system::error_code ignored;
  socket_.set_option(boost::asio::ip::tcp::no_delay(true), ignored);

  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) {
    fail({kInternal, "out of memory creating the HTTP/2 session"});
    return;
  }
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &GrpcBidiStream::onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &GrpcBidiStream::onFrameReceived);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks,
                                                            &GrpcBidiStream::onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &GrpcBidiStream::onStreamClose);
  const int created = nghttp2_session_client_new(&session_, callbacks, this);
  nghttp2_session_callbacks_del(callbacks);
  if (created != 0) {
    session_ = nullptr;
    fail({kInternal, "cannot create the HTTP/2 session"});
    return;
  }
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);

  const std::string authority = this->authority();
  const std::string authorization = options_.token.empty() ? "" : "Bearer " + options_.token;
  std::vector<nghttp2_nv> headers = {
      header(":method", "POST"),
      header(":scheme", tls_ ? "https" : "http"),
      header(":authority", authority),
      header(":path", options_.path),
      header("content-type", "application/grpc"),
      header("te", "trailers"),
      header("user-agent", options_.user_agent),
  };
  if (!authorization.empty()) {
    headers.push_back(header("authorization", authorization));
  }
  // PROTOCOL-HTTP2.md: at most 8 digits and a unit; milliseconds cover every deadline we set.
  const std::string timeout =
      options_.deadline
          ? std::to_string(std::clamp<int64_t>(options_.deadline->count(), 1, 99'999'999)) + "m"
          : std::string();
  if (!timeout.empty()) {
    headers.push_back(header("grpc-timeout", timeout));
  }
  nghttp2_data_provider body{};
  body.read_callback = &GrpcBidiStream::readRequestBody;
  // nghttp2 copies the header names and values, so the strings may go after this call.
  stream_id_ =
      nghttp2_submit_request(session_, nullptr, headers.data(), headers.size(), &body, nullptr);
  if (stream_id_ < 0) {
    fail({kInternal, std::string("cannot open the call: ") + nghttp2_strerror(stream_id_)});
    return;
  }
  flush();
  readSome();
  schedulePing();
}

void GrpcBidiStream::send(std::string_view message) {
  if (done_ || sending_finished_) {
    return;
  }
  pending_ += frameGrpcMessage(message);
  if (session_ != nullptr && stream_id_ > 0) {
    nghttp2_session_resume_data(session_, stream_id_);
    flush();
  }
}

void GrpcBidiStream::finishSending() {
  if (done_ || sending_finished_) {
    return;
  }
  sending_finished_ = true;
  if (session_ != nullptr && stream_id_ > 0) {
    nghttp2_session_resume_data(session_, stream_id_);
    flush();
  }
}

void GrpcBidiStream::cancel() {
  cancelled_ = true;
  handlers_ = {};
  end();
}

bool GrpcBidiStream::end() {
  if (done_) {
    return false;
  }
  done_ = true;
  boost::system::error_code ignored;
  resolver_.cancel();
  socket_.close(ignored);
  connect_timer_.cancel();
  ping_timer_.cancel();
  ping_deadline_.cancel();
  return true;
}

void GrpcBidiStream::readSome() {
  auto on_read = [self = shared_from_this()](const boost::system::error_code& error,
                                             size_t length) {
    if (self->done_) {
      return;
    }
    if (error) {
      self->fail({kUnavailable, error == boost::asio::error::eof
                                    ? "the control plane closed the connection"
                                    : "reading from the control plane failed: " + error.message()});
      return;
    }
    const ssize_t used = nghttp2_session_mem_recv(self->session_, self->in_.data(), length);
    if (used < 0) {
      self->fail({kInternal, self->framing_error_.empty()
                                 ? std::string("HTTP/2 error from the control plane: ") +
                                       nghttp2_strerror(static_cast<int>(used))
                                 : "cannot read the call: " + self->framing_error_});
      return;
    }
    self->deliver();
    if (self->done_) {
      return;
    }
    self->flush();
    self->readSome();
  };
  if (tls_) {
    tls_->async_read_some(boost::asio::buffer(in_), std::move(on_read));
  } else {
    socket_.async_read_some(boost::asio::buffer(in_), std::move(on_read));
  }
}

void GrpcBidiStream::deliver() {
  std::vector<std::string> messages = std::move(received_);
  received_.clear();
  for (std::string& message : messages) {
    if (done_) {
      return;
    }
    if (handlers_.on_message) {
      handlers_.on_message(std::move(message));
    }
  }
  if (stream_closed_ && !done_) {
    fail(closedStatus());
  }
}

void GrpcBidiStream::flush() {
  if (session_ == nullptr || writing_ || done_) {
    return;
  }
  for (;;) {
    const uint8_t* data = nullptr;
    const ssize_t length = nghttp2_session_mem_send(session_, &data);
    if (length < 0) {
      fail({kInternal, std::string("HTTP/2 error: ") + nghttp2_strerror(static_cast<int>(length))});
      return;
    }
    if (length == 0) {
      break;
    }
    out_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(length));
  }
  if (out_.empty()) {
    if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) {
      fail({kUnavailable, "the control plane ended the connection"});
    }
    return;
  }
  writing_ = true;
  auto on_written = [self = shared_from_this()](const boost::system::error_code& error, size_t) {
    self->writing_ = false;
    self->out_.clear();
    if (self->done_) {
      return;
    }
    if (error) {
      self->fail({kUnavailable, "writing to the control plane failed: " + error.message()});
      return;
    }
    self->flush();
  };
  if (tls_) {
    boost::asio::async_write(*tls_, boost::asio::buffer(out_), std::move(on_written));
  } else {
    boost::asio::async_write(socket_, boost::asio::buffer(out_), std::move(on_written));
  }
}

void GrpcBidiStream::schedulePing() {
  ping_timer_.expires_after(options_.keepalive_interval);
  ping_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
    if (error || self->done_) {
      return;
    }
    if (!self->ping_outstanding_) {
      self->ping_outstanding_ = true;
      nghttp2_submit_ping(self->session_, NGHTTP2_FLAG_NONE, nullptr);
      self->flush();
      self->ping_deadline_.expires_after(self->options_.keepalive_timeout);
      self->ping_deadline_.async_wait([self](const boost::system::error_code& late) {
        if (!late && !self->done_ && self->ping_outstanding_) {
          self->fail({kUnavailable, "the control plane did not answer a keepalive ping within " +
                                        std::to_string(self->options_.keepalive_timeout.count()) +
                                        " ms"});
        }
      });
    }
    self->schedulePing();
  });
}

void GrpcBidiStream::fail(GrpcStatus status) {
  if (!end()) {
    return;
  }
  // Posted: the handler may drop the last reference to this stream.
  boost::asio::post(io_context_, [self = shared_from_this(), status = std::move(status)] {
    if (!self->cancelled_ && self->handlers_.on_closed) {
      auto on_closed = std::move(self->handlers_.on_closed);
      self->handlers_ = {};
      on_closed(status);
    }
  });
}

GrpcStatus GrpcBidiStream::closedStatus() const {
  if (grpc_status_) {
    return {*grpc_status_, grpc_message_};
  }
  if (http_status_ != 0 && http_status_ != 200) {
    return {statusOfHttp(http_status_),
            "the control plane answered HTTP status " + std::to_string(http_status_)};
  }
  if (reset_code_ != NGHTTP2_NO_ERROR) {
    return {reset_code_ == NGHTTP2_REFUSED_STREAM ? kUnavailable
            : reset_code_ == NGHTTP2_CANCEL       ? kCancelled
                                                  : kInternal,
            std::string("the control plane reset the call (") +
                nghttp2_http2_strerror(reset_code_) + ")"};
  }
  return {kInternal, "the call ended without a grpc-status"};
}

int GrpcBidiStream::onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                             size_t name_length, const uint8_t* value, size_t value_length, uint8_t,
                             void* user) {
  auto* self = static_cast<GrpcBidiStream*>(user);
  if (frame->hd.stream_id != self->stream_id_) {
    return 0;
  }
  const std::string_view key(reinterpret_cast<const char*>(name), name_length);
  const std::string_view text(reinterpret_cast<const char*>(value), value_length);
  if (key == ":status") {
    std::from_chars(text.data(), text.data() + text.size(), self->http_status_);
  } else if (key == "grpc-status") {
    int code = kUnknown;
    std::from_chars(text.data(), text.data() + text.size(), code);
    self->grpc_status_ = code;
  } else if (key == "grpc-message") {
    self->grpc_message_ = percentDecoded(text);
  }
  return 0;
}

int GrpcBidiStream::onFrameReceived(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<GrpcBidiStream*>(user);
  if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK) != 0) {
    self->ping_outstanding_ = false;
    self->ping_deadline_.cancel();
  }
  return 0;
}

int GrpcBidiStream::onDataChunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                                size_t length, void* user) {
  auto* self = static_cast<GrpcBidiStream*>(user);
  if (stream_id != self->stream_id_ || self->http_status_ != 200) {
    return 0;  // an error answer's body says nothing the status does not
  }
  std::string error = self->reader_.feed(
      std::string_view(reinterpret_cast<const char*>(data), length), self->received_);
  if (!error.empty()) {
    self->framing_error_ = std::move(error);
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

int GrpcBidiStream::onStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                                  void* user) {
  auto* self = static_cast<GrpcBidiStream*>(user);
  if (stream_id == self->stream_id_) {
    self->stream_closed_ = true;
    self->reset_code_ = error_code;
  }
  return 0;
}

ssize_t GrpcBidiStream::readRequestBody(nghttp2_session*, int32_t, uint8_t* buffer, size_t length,
                                        uint32_t* flags, nghttp2_data_source*, void* user) {
  auto* self = static_cast<GrpcBidiStream*>(user);
  const size_t available = self->pending_.size() - self->pending_taken_;
  if (available == 0) {
    if (self->sending_finished_) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      return 0;
    }
    return NGHTTP2_ERR_DEFERRED;  // resumed by send() or finishSending()
  }
  const size_t take = std::min(available, length);
  std::memcpy(buffer, self->pending_.data() + self->pending_taken_, take);
  self->pending_taken_ += take;
  if (self->pending_taken_ == self->pending_.size()) {
    self->pending_.clear();
    self->pending_taken_ = 0;
    if (self->sending_finished_) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;  // END_STREAM on the last message's frame
    }
  }
  return static_cast<ssize_t>(take);
}

}  // namespace weft::proxy::xds
