#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>
#include "proxy/io/deadline_stream.h"
#include "proxy/upstream/connection_limit.h"
#include "proxy/upstream/resilience/circuit_breaker.h"

namespace weft::proxy {

using UpstreamResponseParser = boost::beast::http::response_parser<boost::beast::http::buffer_body>;

// An upstream HTTP/1.1 connection with its read buffer, which outlives each
// exchange so that no request allocates one.
struct UpstreamConnection {
  explicit UpstreamConnection(DeadlineStream stream_in) : stream(std::move(stream_in)) {}
  ~UpstreamConnection() {
    if (limit) {
      limit->closed();
    }
  }
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;

  DeadlineStream stream;
  boost::beast::flat_buffer buffer;
  // Where message heads are serialized, both ways, one exchange at a time.
  std::string head_buffer;
  // The response being read (readFinalResponseHeader); Http1ConnectionPool::
  // release resets it. Kept here rather than in the relaying coroutine's frame: the parser
  // is 272 bytes, and with it the HTTP/1 exchange's frame grew past the 1020
  // bytes Asio recycles, costing a malloc and a free per request.
  std::optional<UpstreamResponseParser> response;
  // Response body pieces on their way to an HTTP/2 client, made on first use
  // and kept with the pooled connection: in the relay's coroutine frame they
  // made every request allocate and free 16 KiB.
  std::span<char> relayBuffer() {
    if (!relay_buffer_) {
      relay_buffer_ = std::make_unique_for_overwrite<char[]>(kRelayBufferBytes);
    }
    return {relay_buffer_.get(), kRelayBufferBytes};
  }
  uint32_t requests = 0;  // completed exchanges, for max_requests_per_connection
  // The transport it was made with (UpstreamTransport::pool_key): 0 for plaintext.
  uint64_t transport_key = 0;
  // Set when the cluster limits connections per endpoint: the slot this
  // connection holds, given back when it closes.
  std::shared_ptr<HostConnectionLimit> limit;
  // Its place in the cluster's open connections (circuit breaker's max_connections).
  CircuitSlot circuit_slot;

 private:
  static constexpr size_t kRelayBufferBytes = 16 * 1024;
  std::unique_ptr<char[]> relay_buffer_;
};

using UpstreamConnectionPtr = std::unique_ptr<UpstreamConnection>;

// Idle upstream HTTP/1.1 connections of one worker, by endpoint address.
//
// Owned by a worker and used only on its thread, so it takes no locks. A
// connection goes back in only after a complete response that allows keep-alive;
// one that sat idle for more than a moment is checked when it is taken out (a
// non-blocking peek reports a close) and dropped if the upstream closed it. Idle connections are
// bounded per endpoint and expire after `idle_timeout`.
class Http1ConnectionPool {
 public:
  struct Limits {
    size_t max_idle_per_endpoint = 64;
    std::chrono::milliseconds idle_timeout{60'000};
    // Connections idle for less than this are reused without a liveness peek.
    std::chrono::milliseconds check_after{250};
  };

  Http1ConnectionPool() = default;
  explicit Http1ConnectionPool(Limits limits) : limits_(limits) {}

  // A live idle connection to `endpoint` counted by `limit` (null: one counted
  // by no limit), or null when there is none. A connection idle for
  // `idle_timeout` or longer (the cluster's setting; 0: no limit) is closed
  // instead. Defaults to the pool's own limit.
  // Only a connection made with `transport_key` will do: a plaintext connection must never
  // carry a request that asked for mTLS. And only one whose place is counted in `circuit` (the
  // cluster's circuit-breaker counts; null: none): clusters sharing an endpoint must not take
  // each other's connections, which stay counted in the cluster that opened them.
  UpstreamConnectionPtr take(const boost::asio::ip::tcp::endpoint& endpoint,
                             std::optional<std::chrono::milliseconds> idle_timeout = std::nullopt,
                             const HostConnectionLimit* limit = nullptr, uint64_t transport_key = 0,
                             const ClusterCircuitCounts* circuit = nullptr);

  // Returns a connection after a complete keep-alive exchange. A connection
  // under a per-endpoint limit goes to the first request waiting for one
  // instead, when there is one.
  void release(const boost::asio::ip::tcp::endpoint& endpoint, UpstreamConnectionPtr connection);

  // Closes every idle connection (draining, or a config change removed the endpoint).
  void clear() { idle_.clear(); }

  size_t idleCount(const boost::asio::ip::tcp::endpoint& endpoint) const;

 private:
  struct IdleConnection {
    UpstreamConnectionPtr connection;
    std::chrono::steady_clock::time_point since;
  };
  struct EndpointHash {
    size_t operator()(const boost::asio::ip::tcp::endpoint& endpoint) const;
  };

  Limits limits_;
  std::unordered_map<boost::asio::ip::tcp::endpoint, std::vector<IdleConnection>, EndpointHash>
      idle_;
};

}  // namespace weft::proxy
