#pragma once

#include <chrono>
#include <string_view>

namespace weft::loadgen {

using Clock = std::chrono::steady_clock;

class Connection;

// What a connection reports to the run that drives it.
class RunCallbacks {
 public:
  virtual ~RunCallbacks() = default;
  // A request sent at the run's request for `intended` finished: status 0 means it failed
  // (connection lost, stream reset, unparsable response). The request's slot on the
  // connection is free again when this is called.
  virtual void onResponse(Connection& connection, Clock::time_point intended, int status) = 0;
  virtual void onConnectionLost() = 0;
};

// One client connection with a fixed number of request slots (1 for HTTP/1.1 keep-alive
// without pipelining, the stream count for HTTP/2). The run sends a request only into a free
// slot; the connection allocates nothing per request of its own.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual unsigned slots() const = 0;
  virtual bool open() const = 0;
  virtual void send(Clock::time_point intended) = 0;
};

}  // namespace weft::loadgen
