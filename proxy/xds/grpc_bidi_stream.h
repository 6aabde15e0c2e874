#pragma once

#include <nghttp2/nghttp2.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/xds/control_plane_tls.h"
#include "proxy/xds/grpc_message_reader.h"

namespace weft::proxy::xds {

// How a call ended: a gRPC status code (0 OK, 1 CANCELLED, 13 INTERNAL, 14 UNAVAILABLE, ...)
// and what the peer or the transport said.
struct GrpcStatus {
  int code = 0;
  std::string message;
};

// The canonical name of a status code ("OK", "UNAUTHENTICATED", ...), as logs and gRPC tools
// print it; "CODE_<n>" for a number outside the 17 codes.
std::string grpcStatusCodeName(int code);

struct GrpcCallOptions {
  std::string host;  // a DNS name or an address
  uint16_t port = 0;
  std::string path;  // "/<package>.<Service>/<Method>"
  // Sent as "authorization: Bearer <token>" when not empty.
  std::string token;
  std::string user_agent;
  std::chrono::milliseconds connect_timeout{5000};
  // A PING after this long; no answer within the timeout ends the call (a peer that vanished
  // without closing the connection).
  std::chrono::milliseconds keepalive_interval{30000};
  std::chrono::milliseconds keepalive_timeout{10000};
  size_t max_message_bytes = size_t{64} << 20;
  // When set, sent as "grpc-timeout" so the server abandons work the caller no longer waits
  // for (unary calls; the caller enforces the deadline itself as well).
  std::optional<std::chrono::milliseconds> deadline;
  // TLS to the server; null: cleartext.
  std::shared_ptr<const ControlPlaneTls> tls;
};

// One gRPC bidirectional-streaming call over its own HTTP/2 connection (cleartext with prior
// knowledge, or TLS with ALPN h2), on one io_context thread: the proxy's discovery stream. The
// proxy needs exactly one such call, and speaking it with the nghttp2 library the data plane
// already uses keeps the gRPC runtime (its threads, and about 7 MiB of resident libraries) out of
// every sidecar (docs/decisions.md 38).
//
// Messages are opaque bytes here; the caller serializes and parses. send() before the
// connection is up queues the message. on_closed runs once, from the io_context, when the
// call ends for any reason (trailers, reset, connection lost, keepalive, bad framing), unless
// cancel() ran first; no handler runs after cancel().
class GrpcBidiStream : public std::enable_shared_from_this<GrpcBidiStream> {
 public:
  struct Handlers {
    std::function<void(std::string message)> on_message;
    std::function<void(GrpcStatus status)> on_closed;
  };

  GrpcBidiStream(boost::asio::io_context& io_context, GrpcCallOptions options, Handlers handlers);
  ~GrpcBidiStream();

  GrpcBidiStream(const GrpcBidiStream&) = delete;
  GrpcBidiStream& operator=(const GrpcBidiStream&) = delete;

  void start();
  void send(std::string_view message);
  // Half-closes the call: the messages sent so far are the last (END_STREAM follows them), as a
  // unary or server-streaming call requires before the server answers. send() afterwards does
  // nothing.
  void finishSending();
  void cancel();

  // Where the call goes, "host:port", for messages.
  std::string authority() const;

 private:
  void connect(const boost::asio::ip::tcp::resolver::results_type& endpoints);
  void startTls();
  void onConnected();
  void readSome();
  void flush();
  void deliver();
  void schedulePing();
  void fail(GrpcStatus status);
  // Closes the connection and stops every timer; false when the call had already ended.
  bool end();
  GrpcStatus closedStatus() const;

  static int onHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                      size_t name_length, const uint8_t* value, size_t value_length, uint8_t flags,
                      void* user);
  static int onFrameReceived(nghttp2_session* session, const nghttp2_frame* frame, void* user);
  static int onDataChunk(nghttp2_session* session, uint8_t flags, int32_t stream_id,
                         const uint8_t* data, size_t length, void* user);
  static int onStreamClose(nghttp2_session* session, int32_t stream_id, uint32_t error_code,
                           void* user);
  static ssize_t readRequestBody(nghttp2_session* session, int32_t stream_id, uint8_t* buffer,
                                 size_t length, uint32_t* flags, nghttp2_data_source* source,
                                 void* user);

  boost::asio::io_context& io_context_;
  const GrpcCallOptions options_;
  Handlers handlers_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::ip::tcp::socket socket_;
  // With options_.tls: the connection's TLS layer over socket_ (the context outlives it).
  std::unique_ptr<boost::asio::ssl::context> tls_context_;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer ping_timer_;
  boost::asio::steady_timer ping_deadline_;
  nghttp2_session* session_ = nullptr;
  int32_t stream_id_ = -1;
  // Framed request messages nghttp2 has not taken yet.
  std::string pending_;
  size_t pending_taken_ = 0;
  // finishSending() ran: END_STREAM goes out once `pending_` is taken.
  bool sending_finished_ = false;
  // Bytes of the connection being written, and whether a write is under way.
  std::string out_;
  bool writing_ = false;
  std::array<uint8_t, 16384> in_{};
  GrpcMessageReader reader_;
  // Filled by nghttp2's callbacks during a read, handled after it (no callback may write).
  std::vector<std::string> received_;
  std::string framing_error_;
  int http_status_ = 0;
  std::optional<int> grpc_status_;
  std::string grpc_message_;
  bool stream_closed_ = false;
  uint32_t reset_code_ = 0;
  bool ping_outstanding_ = false;
  // The call is over (failed, finished or cancelled): nothing more happens.
  bool done_ = false;
  bool cancelled_ = false;
};

}  // namespace weft::proxy::xds
