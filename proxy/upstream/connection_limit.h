#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

namespace weft::proxy {

struct UpstreamConnection;
using UpstreamConnectionPtr = std::unique_ptr<UpstreamConnection>;

// One worker's share of a cluster's max_connections_per_host for one endpoint:
// how many HTTP/1.1 connections it may have open there, and the requests
// waiting because all of them are busy.
//
// A connection counted here carries a reference to it (UpstreamConnection::
// limit) and gives its slot back when destroyed. A waiting request is served in
// arrival order, either with a keep-alive connection the moment another request
// is done with it (handOver), or with the slot of one that closed. The share is
// per worker (ClusterConfig::connectionLimitShare) so that no count is shared
// between threads and a freed connection is handed over without a lock
// (decision 28). Not thread-safe: one worker only.
class HostConnectionLimit : public std::enable_shared_from_this<HostConnectionLimit> {
 public:
  // Requests allowed to wait per worker and endpoint; beyond, 503 at once. The
  // circuit breakers' max_pending_requests default (issue 6 makes it a setting).
  static constexpr size_t kMaxWaiting = 1024;

  explicit HostConnectionLimit(uint32_t limit) : limit_(limit) {}
  HostConnectionLimit(const HostConnectionLimit&) = delete;
  HostConnectionLimit& operator=(const HostConnectionLimit&) = delete;

  uint32_t limit() const { return limit_; }
  uint32_t open() const { return open_; }
  size_t waiting() const { return waiters_.size(); }

  // Counts a new connection in when the share allows one more and nobody is
  // ahead in line.
  bool tryOpen();

  // A counted connection closed: its slot goes to the first waiter, if any.
  void closed();

  // A counted connection finished a keep-alive exchange: the first waiter takes
  // it; with nobody waiting it is given back for the idle pool.
  UpstreamConnectionPtr handOver(UpstreamConnectionPtr connection);

  struct Waited {
    UpstreamConnectionPtr connection;  // handed over: live, reuse it
    bool slot = false;                 // a slot freed and is counted for the caller: connect
    bool overflow = false;             // too many were waiting already
    // None of the three: the deadline passed first.
  };

  // Waits in line until a connection or a slot is free, or `deadline`. The
  // object must be owned by a shared_ptr.
  // Emitting on `cancel` leaves the line early (the request went away).
  boost::asio::awaitable<Waited> wait(std::chrono::steady_clock::time_point deadline,
                                      boost::asio::cancellation_slot cancel = {});

 private:
  struct Waiter;

  uint32_t limit_;
  uint32_t open_ = 0;
  std::deque<Waiter*> waiters_;
};

// A connection for a request to an endpoint whose pool had no idle one, within
// `limit`: a new, unconnected connection counted against it (reused false), or
// one another request just finished with (reused true). Null when the line was
// full (overflow), `deadline` passed while waiting, or `cancel` was emitted.
struct LimitedConnection {
  UpstreamConnectionPtr connection;
  bool reused = false;
  bool overflow = false;
};
// Why a request got no connection within `limit`, for the local reply.
std::string connectionLimitDetail(const HostConnectionLimit& limit, bool overflow);

boost::asio::awaitable<LimitedConnection> connectionWithinLimit(
    std::shared_ptr<HostConnectionLimit> limit, std::chrono::steady_clock::time_point deadline,
    boost::asio::cancellation_slot cancel = {});

}  // namespace weft::proxy
