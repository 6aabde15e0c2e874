#pragma once

#include <nghttp2/nghttp2.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <unordered_map>
#include "proxy/io/deadline_stream.h"

#include "proxy/http2/stream_exchange.h"
#include "proxy/snapshot/snapshot.h"
#include "proxy/upstream/resilience/circuit_breaker.h"

namespace weft::proxy {

// One HTTP/2 (prior knowledge) connection to an upstream endpoint, carrying
// many exchanges at once. Owned by a worker's Http2ClientPool and its own
// coroutines; used only on the worker's thread.
//
// Response DATA is acknowledged upstream only as the downstream client takes
// it, and request bodies are sent from deferred providers fed by the client:
// each stream buffers at most one flow-control window. Requests submitted while
// the connection is still connecting wait in the session. When the connection
// fails, exchanges without a response get a local reply, the others a reset.
class Http2ClientConnection : public std::enable_shared_from_this<Http2ClientConnection> {
 public:
  Http2ClientConnection(boost::asio::any_io_executor executor, const UpstreamTarget& target,
                        const Http2Settings& settings);
  ~Http2ClientConnection();

  Http2ClientConnection(const Http2ClientConnection&) = delete;
  Http2ClientConnection& operator=(const Http2ClientConnection&) = delete;

  // Connects and runs the connection until it closes.
  void start();

  // Whether a new stream may go on this connection now.
  bool acceptsStreams() const;
  // Whether a stream submitted now would be sent once a slot frees: the
  // connection is open and not closing, only its stream limit is reached.
  bool canQueueStreams() const;
  size_t streamCount() const { return streams_.size(); }
  size_t maxStreams() const { return max_streams_; }
  bool closed() const { return closed_; }
  const std::string& clusterName() const { return cluster_name_; }

  // Takes no new streams and closes once the open ones finish (drain, or a
  // config change that may have removed the endpoint).
  void closeWhenIdle();

  // Opens a stream for `exchange` with the request `fields`; false when the
  // session refuses it (the caller answers locally).
  bool submit(const StreamExchangePtr& exchange, const HeaderList& fields);

 private:
  struct ClientStream;

  bool createSession(const Http2Settings& settings);
  boost::asio::awaitable<void> run(std::shared_ptr<Http2ClientConnection> self);
  boost::asio::awaitable<void> readLoop();
  boost::asio::awaitable<void> writeLoop();
  void signalWrite() { write_signal_.cancel(); }
  void failAll(const std::string& detail);
  // No streams left: the pool's idle timeout starts.
  void startIdle();

  static ClientStream* streamOf(nghttp2_session* session, int32_t stream_id);
  static int onBeginHeaders(nghttp2_session* session, const nghttp2_frame* frame, void* user);
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

  DeadlineStream stream_;
  boost::asio::steady_timer write_signal_;
  boost::asio::ip::tcp::endpoint endpoint_;
  // TLS towards the endpoint (null: plaintext), the identity it must prove, and the worker's
  // session cache for resumption.
  std::shared_ptr<const UpstreamTlsConfig> tls_;
  std::string expected_identity_;
  TlsSessionCache* tls_sessions_ = nullptr;
  std::string cluster_name_;
  std::chrono::milliseconds connect_timeout_;
  uint32_t max_streams_;
  // The cluster's pool settings: close after this long without streams (0:
  // never), and take no more streams after this many (0: unlimited).
  std::chrono::milliseconds idle_timeout_;
  uint32_t max_requests_;
  uint32_t requests_ = 0;
  std::chrono::steady_clock::time_point idle_since_{};
  nghttp2_session* session_ = nullptr;
  std::unordered_map<int32_t, std::unique_ptr<ClientStream>> streams_;
  std::string out_;
  bool connected_ = false;
  bool goaway_received_ = false;
  bool close_when_idle_ = false;
  bool closed_ = false;
  // Its place in the cluster's open_http2_connections (the pool gauge), from construction
  // until run() ends. Not a limit: max_connections bounds HTTP/1.1 connections; HTTP/2 ones are
  // bounded per host by max_connections_per_host.
  CircuitSlot circuit_slot_;
};

}  // namespace weft::proxy
