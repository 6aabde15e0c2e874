#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <unordered_map>
#include <vector>

#include "proxy/http2/client_connection.h"
#include "proxy/http2/stream_exchange.h"

namespace weft::proxy {

// A worker's HTTP/2 connections to upstream endpoints. A request goes on the
// first open connection of its cluster to its endpoint with room for another
// stream; a new connection is opened only when none has. No locks: one worker, one thread.
class Http2ClientPool {
 public:
  // Sends `exchange` to `target` over HTTP/2 with the request `fields`, and
  // enforces the route timeout.
  void forward(boost::asio::any_io_executor executor, const StreamExchangePtr& exchange,
               const HeaderList& fields, const UpstreamTarget& target,
               const Http2Settings& settings);

  // Sends one attempt of `exchange` (forward() sends the first; Http2Attempts the retries):
  // false after answering locally (no connection can take it).
  bool submitAttempt(boost::asio::any_io_executor executor, const StreamExchangePtr& exchange,
                     const HeaderList& fields, const UpstreamTarget& target,
                     const Http2Settings& settings);

  size_t connectionCount() const;

  // Lets every current connection finish its streams and close; later requests
  // open new ones. Called on drain and on config changes.
  void retireAll();

 private:
  struct EndpointHash {
    size_t operator()(const boost::asio::ip::tcp::endpoint& endpoint) const;
  };

  // Null when the endpoint's connection share is full and too many streams wait.
  std::shared_ptr<Http2ClientConnection> connectionFor(boost::asio::any_io_executor executor,
                                                       const UpstreamTarget& target,
                                                       const Http2Settings& settings);

  std::unordered_map<boost::asio::ip::tcp::endpoint,
                     std::vector<std::shared_ptr<Http2ClientConnection>>, EndpointHash>
      connections_;
};

}  // namespace weft::proxy
