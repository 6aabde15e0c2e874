#include "proxy/upstream/connection_limit.h"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "proxy/upstream/http1_connection_pool.h"

namespace weft::proxy {

namespace asio = boost::asio;

// Lives in the waiting coroutine's frame. Leaves the line when it goes, also
// when the frame is destroyed without resuming (a worker stopped at its drain
// deadline), so the line never holds a dangling waiter.
struct HostConnectionLimit::Waiter {
  Waiter(const asio::any_io_executor& executor, std::shared_ptr<HostConnectionLimit> owner_in)
      : timer(executor), owner(std::move(owner_in)) {}
  ~Waiter() {
    if (!woken) {
      auto& line = owner->waiters_;
      line.erase(std::find(line.begin(), line.end(), this));
    } else if (outcome.slot) {
      owner->closed();  // given a slot but never resumed to use it: pass it on
    }
  }
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  asio::steady_timer timer;
  std::shared_ptr<HostConnectionLimit> owner;
  Waited outcome;
  bool woken = false;
};

bool HostConnectionLimit::tryOpen() {
  // Waiters are ahead: a newcomer taking a slot would starve them.
  if (open_ >= limit_ || !waiters_.empty()) {
    return false;
  }
  ++open_;
  return true;
}

void HostConnectionLimit::closed() {
  if (open_ > 0) {
    --open_;
  }
  if (waiters_.empty() || open_ >= limit_) {
    return;
  }
  Waiter* waiter = waiters_.front();
  waiters_.pop_front();
  ++open_;  // counted for the waiter now, so no one else takes it meanwhile
  waiter->outcome.slot = true;
  waiter->woken = true;
  waiter->timer.cancel();
}

UpstreamConnectionPtr HostConnectionLimit::handOver(UpstreamConnectionPtr connection) {
  if (waiters_.empty()) {
    return connection;
  }
  Waiter* waiter = waiters_.front();
  waiters_.pop_front();
  waiter->outcome.connection = std::move(connection);
  waiter->woken = true;
  waiter->timer.cancel();
  return nullptr;
}

asio::awaitable<HostConnectionLimit::Waited> HostConnectionLimit::wait(
    std::chrono::steady_clock::time_point deadline, asio::cancellation_slot cancel) {
  if (waiters_.size() >= kMaxWaiting) {
    Waited overflow;
    overflow.overflow = true;
    co_return overflow;
  }
  Waiter waiter(co_await asio::this_coro::executor, shared_from_this());
  waiters_.push_back(&waiter);
  waiter.timer.expires_at(deadline);
  // Woken by a cancel, or the deadline; either way what decides is `woken`,
  // which a wake sets before the completion runs.
  co_await waiter.timer.async_wait(
      asio::bind_cancellation_slot(cancel, asio::as_tuple(asio::use_awaitable)));
  Waited outcome = std::move(waiter.outcome);
  waiter.outcome.slot = false;  // the caller holds it now
  co_return outcome;
}

std::string connectionLimitDetail(const HostConnectionLimit& limit, bool overflow) {
  const std::string share = std::to_string(limit.limit());
  if (overflow) {
    return "all " + share + " connections this worker may open to the endpoint " +
           "(max_connections_per_host) are busy and " + std::to_string(limit.waiting()) +
           " requests already wait";
  }
  return "no connection to the endpoint became free within the route timeout (" + share +
         " allowed per worker by max_connections_per_host, all busy)";
}

asio::awaitable<LimitedConnection> connectionWithinLimit(
    std::shared_ptr<HostConnectionLimit> limit, std::chrono::steady_clock::time_point deadline,
    asio::cancellation_slot cancel) {
  LimitedConnection out;
  if (!limit->tryOpen()) {
    HostConnectionLimit::Waited waited = co_await limit->wait(deadline, cancel);
    if (waited.connection) {
      out.connection = std::move(waited.connection);
      out.reused = true;
      co_return out;
    }
    if (!waited.slot) {
      out.overflow = waited.overflow;
      co_return out;
    }
  }
  out.connection =
      std::make_unique<UpstreamConnection>(DeadlineStream(co_await asio::this_coro::executor));
  out.connection->limit = std::move(limit);  // counted by tryOpen() or by closed() for us
  co_return out;
}

}  // namespace weft::proxy
