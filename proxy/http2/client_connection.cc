#include "proxy/http2/client_connection.h"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <limits>

#include "common/log/logger.h"
#include "proxy/http2/http2_attempts.h"
#include "proxy/http2/nghttp2_headers.h"

namespace weft::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr size_t kWriteBatchBytes = 64 * 1024;
constexpr size_t kReadBufferBytes = 16 * 1024;
constexpr uint32_t kMaxResponseHeaderBytes = 60 * 1024;
constexpr uint32_t kMaxResponseHeaders = 500;

spdlog::logger& clientLog() {
  static spdlog::logger& logger = weft::log::logger("http2");
  return logger;
}

}  // namespace

// One upstream stream: the exchange it serves and the header block being decoded.
struct Http2ClientConnection::ClientStream final : public ExchangeUpstream {
  ClientStream(Http2ClientConnection& connection_in, StreamExchangePtr exchange_in)
      : connection(connection_in),
        exchange(std::move(exchange_in)),
        headers(kMaxResponseHeaderBytes, kMaxResponseHeaders) {}

  void requestDataReady(StreamExchange&) override {
    nghttp2_session_resume_data(connection.session_, id);
    connection.signalWrite();
  }
  void responseBodyDrained(StreamExchange&, size_t length) override {
    nghttp2_session_consume(connection.session_, id, length);
    connection.signalWrite();
  }
  void resetByDownstream(StreamExchange&) override {
    nghttp2_submit_rst_stream(connection.session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    connection.signalWrite();
  }
  void abandonAttempt(StreamExchange& attempt_exchange) override {
    abandoned = true;
    resetByDownstream(attempt_exchange);
  }

  Http2ClientConnection& connection;
  StreamExchangePtr exchange;
  int32_t id = 0;
  HeaderCollector headers;
  bool final_headers_seen = false;
  // The exchange went on to another attempt (Http2Attempts): what still arrives on this
  // stream is dropped, and the exchange is no longer this stream's to answer.
  bool abandoned = false;
};

namespace {

// A final response header as the attempt classifier sees it; grpc-status only when the
// header ends the stream (a trailers-only gRPC answer).
AttemptResult responseAttempt(const HeaderList& fields, bool end_stream) {
  AttemptResult result;
  if (!fields.empty() && fields.front().name == ":status") {
    for (char c : fields.front().value) {
      result.status = result.status * 10 + static_cast<unsigned>(c - '0');
    }
  }
  if (end_stream) {
    for (const HeaderField& field : fields) {
      if (field.name == "grpc-status" && !field.value.empty() && field.value.size() <= 2) {
        result.grpc_status = 0;
        for (char c : field.value) {
          result.grpc_status = result.grpc_status * 10 + (c - '0');
        }
      }
    }
  }
  return result;
}

std::string attemptsNote(const StreamExchange& exchange) {
  return exchange.attempts ? exchange.attempts->note() : std::string();
}

}  // namespace

Http2ClientConnection::Http2ClientConnection(asio::any_io_executor executor,
                                             const UpstreamTarget& target,
                                             const Http2Settings& settings)
    : stream_(executor),
      write_signal_(executor),
      endpoint_(target.endpoint),
      cluster_name_(target.cluster_name),
      connect_timeout_(target.connect_timeout),
      max_streams_(settings.max_concurrent_streams),
      idle_timeout_(target.pool_idle_timeout),
      max_requests_(target.max_requests_per_connection) {
  if (target.transport.tls != nullptr && target.tls_owner != nullptr) {
    tls_ = *target.tls_owner;
    expected_identity_ = target.transport.expected_identity;
    tls_sessions_ = target.tls_sessions;
  }
  if (target.cluster != nullptr) {
    circuit_slot_.tryTake(target.cluster->circuit, &ClusterCircuitCounts::open_http2_connections,
                          std::numeric_limits<uint32_t>::max());
  }
  if (!createSession(settings)) {
    closed_ = true;
  }
}

Http2ClientConnection::~Http2ClientConnection() {
  failAll("the upstream connection closed");
  nghttp2_session_del(session_);
}

bool Http2ClientConnection::createSession(const Http2Settings& settings) {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) {
    return false;
  }
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &onFrameReceived);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &onStreamClose);
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  nghttp2_option_set_no_auto_window_update(option, 1);
  const int rv = nghttp2_session_client_new2(&session_, callbacks, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  if (rv != 0) {
    session_ = nullptr;
    return false;
  }
  const nghttp2_settings_entry entries[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings.initial_stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, kMaxResponseHeaderBytes},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, entries, std::size(entries));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<int32_t>(settings.initial_connection_window));
  return true;
}

void Http2ClientConnection::start() {
  asio::co_spawn(stream_.get_executor(), run(shared_from_this()), asio::detached);
}

bool Http2ClientConnection::canQueueStreams() const {
  if (closed_ || close_when_idle_ || goaway_received_ || session_ == nullptr ||
      nghttp2_session_want_read(session_) == 0 ||
      nghttp2_session_get_next_stream_id(session_) > (1U << 30)) {
    return false;
  }
  // Idle too long: the socket is (about to be) closed by its deadline.
  return !(streams_.empty() && connected_ && idle_timeout_.count() > 0 &&
           std::chrono::steady_clock::now() - idle_since_ >= idle_timeout_);
}

bool Http2ClientConnection::acceptsStreams() const {
  if (!canQueueStreams()) {
    return false;
  }
  const uint32_t peer_limit =
      nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  return streams_.size() < std::min(peer_limit, max_streams_);
}

void Http2ClientConnection::closeWhenIdle() {
  close_when_idle_ = true;
  if (streams_.empty() && !closed_) {
    closed_ = true;
    nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
    error_code ignored;
    stream_.socket().cancel(ignored);
    signalWrite();
  }
}

bool Http2ClientConnection::submit(const StreamExchangePtr& exchange, const HeaderList& fields) {
  if (!canQueueStreams()) {
    return false;
  }
  auto stream = std::make_unique<ClientStream>(*this, exchange);
  const std::vector<nghttp2_nv> nva = toNv(fields);
  const BodyPipe& body = exchange->request_body;
  const bool no_body = body.ended && body.size() == 0 && body.trailers.empty();
  nghttp2_data_provider provider{};
  provider.source.ptr = stream.get();
  provider.read_callback = &readRequestBody;
  const int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                            no_body ? nullptr : &provider, stream.get());
  if (id < 0) {
    return false;
  }
  stream->id = id;
  exchange->upstream = stream.get();
  if (streams_.empty() && connected_ && idle_timeout_.count() > 0) {
    stream_.expires_never();  // busy again: the idle deadline no longer applies
  }
  streams_[id] = std::move(stream);
  if (max_requests_ != 0 && ++requests_ >= max_requests_) {
    close_when_idle_ = true;  // spent: closes once this and the other open streams end
  }
  signalWrite();
  return true;
}

void Http2ClientConnection::startIdle() {
  idle_since_ = std::chrono::steady_clock::now();
  if (idle_timeout_.count() > 0 && connected_ && !closed_) {
    stream_.expires_at(idle_since_ + idle_timeout_);
  }
}

asio::awaitable<void> Http2ClientConnection::run(std::shared_ptr<Http2ClientConnection> self) {
  // `self` keeps the connection alive while its coroutines run.
  (void)self;
  // However run() ends, the connection stops counting as open (the pool may hold the closed
  // object a while longer).
  struct ReleaseWhenDone {
    CircuitSlot& slot;
    ~ReleaseWhenDone() { slot.release(); }
  } release_when_done{circuit_slot_};
  if (closed_) {
    failAll("creating the HTTP/2 session failed");
    co_return;
  }
  stream_.expires_after(connect_timeout_);
  auto [error] = co_await stream_.async_connect(endpoint_, kUseTuple);
  if (error) {
    closed_ = true;
    failAll("connecting to " + endpoint_.address().to_string() + ":" +
            std::to_string(endpoint_.port()) + " failed: " + error.message());
    co_return;
  }
  if (tls_ && tls_sessions_ != nullptr) {
    const UpstreamTransport transport{tls_.get(), expected_identity_, 1};
    const std::string failure = co_await startUpstreamTls(
        stream_, transport, alpnOffer(transport, kMeshAlpnHttp2), endpoint_, *tls_sessions_);
    if (!failure.empty()) {
      closed_ = true;
      failAll(failure);
      co_return;
    }
  }
  stream_.expires_never();
  error_code ignored;
  stream_.socket().set_option(asio::ip::tcp::no_delay(true), ignored);
  connected_ = true;
  if (streams_.empty()) {
    startIdle();
  }
  co_await (readLoop() && writeLoop());
  closed_ = true;
  stream_.socket().close(ignored);
  failAll("the upstream HTTP/2 connection closed");
}

asio::awaitable<void> Http2ClientConnection::readLoop() {
  std::array<uint8_t, kReadBufferBytes> buffer;
  while (!closed_) {
    auto [error, bytes] = co_await stream_.async_read_some(asio::buffer(buffer), kUseTuple);
    if (error) {
      if (error == beast::error::timeout) {
        clientLog().debug("cluster {}: closed the HTTP/2 connection to {}:{} after {} ms idle",
                          cluster_name_, endpoint_.address().to_string(), endpoint_.port(),
                          idle_timeout_.count());
      }
      break;
    }
    const ssize_t rv = nghttp2_session_mem_recv(session_, buffer.data(), bytes);
    if (rv < 0) {
      clientLog().warn("cluster {}: HTTP/2 error from {}:{}: {}", cluster_name_,
                       endpoint_.address().to_string(), endpoint_.port(),
                       nghttp2_strerror(static_cast<int>(rv)));
      nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
      break;
    }
    signalWrite();
    if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) {
      break;
    }
  }
  closed_ = true;
  signalWrite();
}

asio::awaitable<void> Http2ClientConnection::writeLoop() {
  for (;;) {
    out_.clear();
    for (;;) {
      const uint8_t* data = nullptr;
      const ssize_t length = nghttp2_session_mem_send(session_, &data);
      if (length <= 0) {
        if (length < 0) {
          closed_ = true;
        }
        break;
      }
      out_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(length));
      if (out_.size() >= kWriteBatchBytes) {
        break;
      }
    }
    if (!out_.empty()) {
      if (closed_) {
        stream_.expires_after(std::chrono::seconds(5));
      }
      auto [error, written] = co_await asio::async_write(stream_, asio::buffer(out_), kUseTuple);
      if (error) {
        closed_ = true;
        break;
      }
      continue;
    }
    if (closed_ ||
        (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0)) {
      closed_ = true;
      break;
    }
    write_signal_.expires_at(asio::steady_timer::time_point::max());
    co_await write_signal_.async_wait(kUseTuple);
  }
  error_code ignored;
  stream_.socket().cancel(ignored);  // end the reader's wait
}

void Http2ClientConnection::failAll(const std::string& detail) {
  auto streams = std::move(streams_);
  streams_.clear();
  bool reported = false;  // the host is blamed once for the connection, not per stream
  for (auto& [id, stream] : streams) {
    if (stream->abandoned) {
      continue;
    }
    StreamExchange& exchange = *stream->exchange;
    exchange.upstream = nullptr;
    exchange.upstream_finished = true;
    if (!exchange.response_started) {
      const AttemptResult attempt{
          connected_ ? AttemptFailure::kReset : AttemptFailure::kConnectFailure, 0, -1};
      const bool report = !reported;
      reported = reported || (exchange.attempts && !exchange.downstream_closed);
      if (exchange.attempts && !exchange.downstream_closed &&
          exchange.attempts->attemptEnded(exchange, attempt, nullptr, report)) {
        clientLog().debug("{} {}: cluster {}: {}; retrying", exchange.request.method,
                          exchange.request.path, cluster_name_, detail);
        exchange.wake.cancel();
        continue;
      }
      clientLog().info("{} {}: cluster {}: {}", exchange.request.method, exchange.request.path,
                       cluster_name_, detail);
      const LocalReplyReason reason =
          connected_ ? LocalReplyReason::kUpstreamReset : LocalReplyReason::kUpstreamConnectFail;
      exchange.localReply(reason, connected_ ? 502 : 503,
                          "cluster '" + cluster_name_ + "': " + detail + attemptsNote(exchange));
    } else if (!exchange.response_body.ended && exchange.downstream != nullptr) {
      exchange.downstream->resetByUpstream(exchange, NGHTTP2_INTERNAL_ERROR);
    }
    exchange.wake.cancel();
  }
}

Http2ClientConnection::ClientStream* Http2ClientConnection::streamOf(nghttp2_session* session,
                                                                     int32_t stream_id) {
  return static_cast<ClientStream*>(nghttp2_session_get_stream_user_data(session, stream_id));
}

int Http2ClientConnection::onBeginHeaders(nghttp2_session* session, const nghttp2_frame* frame,
                                          void* /*user*/) {
  if (frame->hd.type != NGHTTP2_HEADERS) {
    return 0;
  }
  if (ClientStream* stream = streamOf(session, frame->hd.stream_id)) {
    stream->headers = HeaderCollector(kMaxResponseHeaderBytes, kMaxResponseHeaders);
  }
  return 0;
}

int Http2ClientConnection::onHeader(nghttp2_session* session, const nghttp2_frame* frame,
                                    const uint8_t* name, size_t name_length, const uint8_t* value,
                                    size_t value_length, uint8_t /*flags*/, void* /*user*/) {
  if (ClientStream* stream = streamOf(session, frame->hd.stream_id)) {
    stream->headers.add(std::string_view(reinterpret_cast<const char*>(name), name_length),
                        std::string_view(reinterpret_cast<const char*>(value), value_length));
  }
  return 0;
}

int Http2ClientConnection::onFrameReceived(nghttp2_session* session, const nghttp2_frame* frame,
                                           void* user) {
  auto* self = static_cast<Http2ClientConnection*>(user);
  if (frame->hd.type == NGHTTP2_GOAWAY) {
    self->goaway_received_ = true;  // streams after its last id go on a new connection
    return 0;
  }
  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) {
    return 0;
  }
  ClientStream* stream = streamOf(session, frame->hd.stream_id);
  if (stream == nullptr || stream->abandoned) {
    return 0;
  }
  StreamExchange& exchange = *stream->exchange;
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame->hd.type == NGHTTP2_HEADERS) {
    if (stream->headers.tooLarge()) {
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream->id, NGHTTP2_CANCEL);
      exchange.localReply(
          LocalReplyReason::kUpstreamReset, 502,
          "cluster '" + self->cluster_name_ + "': response headers are larger than the limit");
      return 0;
    }
    HeaderList fields = std::move(stream->headers.fields());
    if (!stream->final_headers_seen) {
      const bool interim = !fields.empty() && fields.front().name == ":status" &&
                           !fields.front().value.empty() && fields.front().value[0] == '1';
      if (interim) {
        return 0;  // 1xx: the client gets only the final response
      }
      stream->final_headers_seen = true;
      if (exchange.response_started) {
        return 0;  // a local reply (route timeout) went out already
      }
      if (exchange.attempts &&
          exchange.attempts->attemptEnded(exchange, responseAttempt(fields, end_stream), &fields)) {
        // Retried: this response is dropped, and its stream with it. Reset even after
        // END_STREAM: our side may still be open (a request body not yet sent), and nothing
        // else would ever end it.
        stream->abandoned = true;
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream->id, NGHTTP2_CANCEL);
        self->signalWrite();
        return 0;
      }
      exchange.metrics.upstream_answered = std::chrono::steady_clock::now();
      exchange.setResponse(filterResponseFields(std::move(fields)));
      exchange.response_body.ended = end_stream;
      if (exchange.downstream != nullptr) {
        exchange.downstream->responseHeadersReady(exchange);
      }
      return 0;
    }
    exchange.response_body.trailers = filterResponseFields(std::move(fields));
  }
  if (end_stream) {
    exchange.response_body.ended = true;
    if (exchange.downstream != nullptr && stream->final_headers_seen) {
      exchange.downstream->responseDataReady(exchange);
    }
  }
  return 0;
}

int Http2ClientConnection::onDataChunk(nghttp2_session* session, uint8_t /*flags*/,
                                       int32_t stream_id, const uint8_t* data, size_t length,
                                       void* /*user*/) {
  ClientStream* stream = streamOf(session, stream_id);
  if (stream == nullptr || stream->abandoned || stream->exchange->downstream_closed ||
      !stream->final_headers_seen) {
    nghttp2_session_consume(session, stream_id, length);
    return 0;
  }
  StreamExchange& exchange = *stream->exchange;
  exchange.response_body.append(data, length);
  if (exchange.downstream != nullptr) {
    exchange.downstream->responseDataReady(exchange);
  }
  return 0;
}

int Http2ClientConnection::onStreamClose(nghttp2_session* session, int32_t stream_id,
                                         uint32_t error_code, void* user) {
  auto* self = static_cast<Http2ClientConnection*>(user);
  auto it = self->streams_.find(stream_id);
  if (it == self->streams_.end()) {
    return 0;
  }
  std::unique_ptr<ClientStream> stream = std::move(it->second);
  self->streams_.erase(it);
  StreamExchange& exchange = *stream->exchange;
  // An abandoned stream's exchange went on to another attempt: it is no longer this one's.
  if (!stream->abandoned) {
    exchange.upstream = nullptr;
    exchange.upstream_finished = true;
    // What the client has not taken yet is no longer tracked per stream.
    nghttp2_session_consume_connection(session, exchange.response_body.size());
    if (exchange.downstream_closed) {
      // Nobody to answer.
    } else if (!exchange.response_started) {
      const AttemptResult attempt{error_code == NGHTTP2_REFUSED_STREAM
                                      ? AttemptFailure::kRefusedStream
                                      : AttemptFailure::kReset,
                                  0, -1};
      if (!exchange.attempts || !exchange.attempts->attemptEnded(exchange, attempt, nullptr)) {
        exchange.localReply(LocalReplyReason::kUpstreamReset, 502,
                            "cluster '" + self->cluster_name_ +
                                "': the upstream reset the stream: " +
                                nghttp2_http2_strerror(error_code) + attemptsNote(exchange));
      }
    } else if (!exchange.response_body.ended && exchange.downstream != nullptr) {
      exchange.downstream->resetByUpstream(
          exchange, error_code == NGHTTP2_NO_ERROR ? uint32_t{NGHTTP2_INTERNAL_ERROR} : error_code);
    }
  }
  exchange.wake.cancel();
  if (self->close_when_idle_ && self->streams_.empty()) {
    nghttp2_session_terminate_session(session, NGHTTP2_NO_ERROR);
  } else if (self->streams_.empty()) {
    self->startIdle();
  }
  return 0;
}

ssize_t Http2ClientConnection::readRequestBody(nghttp2_session* session, int32_t stream_id,
                                               uint8_t* buffer, size_t length, uint32_t* flags,
                                               nghttp2_data_source* source, void* /*user*/) {
  auto* stream = static_cast<ClientStream*>(source->ptr);
  if (stream->abandoned) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;  // reset already: the body goes with the next attempt
    return 0;
  }
  StreamExchange& exchange = *stream->exchange;
  BodyPipe& body = exchange.request_body;
  const size_t taken = body.take(buffer, length);
  // A retry's replayed bytes were credited to the client when they first went.
  const size_t fresh = exchange.attempts ? exchange.attempts->bodyTaken(
                                               buffer, taken, body.size() == 0 && body.ended)
                                         : taken;
  if (fresh > 0 && exchange.downstream != nullptr) {
    exchange.downstream->requestBodyConsumed(exchange, fresh);
  }
  if (body.ended && exchange.attempts) {
    exchange.attempts->requestEnded(exchange);  // the per-try timeout may start now
  }
  if (body.size() == 0 && body.ended) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!body.trailers.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      const std::vector<nghttp2_nv> nva = toNv(body.trailers);
      nghttp2_submit_trailer(session, stream_id, nva.data(), nva.size());
    }
    return static_cast<ssize_t>(taken);
  }
  return taken == 0 ? ssize_t{NGHTTP2_ERR_DEFERRED} : static_cast<ssize_t>(taken);
}

}  // namespace weft::proxy
