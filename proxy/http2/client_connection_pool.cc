#include "proxy/http2/client_connection_pool.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>

#include "common/log/logger.h"
#include "proxy/http2/http2_attempts.h"

namespace weft::proxy {
namespace {

namespace asio = boost::asio;

// Ends an exchange that outlives its route timeout: a 504 before the response
// started, a reset after. Woken early (and then done) when the upstream side
// finishes or the client goes away.
asio::awaitable<void> enforceRouteTimeout(StreamExchangePtr exchange,
                                          std::chrono::steady_clock::time_point deadline,
                                          std::string cluster_name) {
  for (;;) {
    if (exchange->upstream_finished || exchange->downstream_closed) {
      co_return;
    }
    exchange->wake.expires_at(deadline);
    auto [error] = co_await exchange->wake.async_wait(asio::as_tuple(asio::use_awaitable));
    if (error != asio::error::operation_aborted) {
      break;  // the deadline passed
    }
  }
  if (exchange->upstream_finished || exchange->downstream_closed) {
    co_return;
  }
  if (exchange->upstream != nullptr) {
    exchange->upstream->resetByDownstream(*exchange);
  }
  if (!exchange->response_started) {
    exchange->localReply(LocalReplyReason::kUpstreamTimeout, 504,
                         "cluster '" + cluster_name + "': no response within the route timeout");
  } else if (exchange->downstream != nullptr) {
    exchange->downstream->resetByUpstream(*exchange, NGHTTP2_CANCEL);
  }
}

}  // namespace

size_t Http2ClientPool::EndpointHash::operator()(
    const boost::asio::ip::tcp::endpoint& endpoint) const {
  return std::hash<std::string>()(endpoint.address().to_string()) ^ endpoint.port();
}

std::shared_ptr<Http2ClientConnection> Http2ClientPool::connectionFor(
    asio::any_io_executor executor, const UpstreamTarget& target, const Http2Settings& settings) {
  auto& connections = connections_[target.endpoint];
  std::erase_if(connections, [](const auto& connection) { return connection->closed(); });
  std::shared_ptr<Http2ClientConnection> least_busy;
  size_t open = 0;
  for (const auto& connection : connections) {
    // Clusters sharing an endpoint keep their own connections: their settings
    // (stream limits, pool limits) differ.
    if (connection->clusterName() != target.cluster_name) {
      continue;
    }
    if (connection->acceptsStreams()) {
      return connection;
    }
    ++open;
    if (connection->canQueueStreams() &&
        (!least_busy || connection->streamCount() < least_busy->streamCount())) {
      least_busy = connection;
    }
  }
  // At max_connections_per_host the request joins the least busy connection,
  // beyond the cluster's max_concurrent_streams if need be, up to the
  // upstream's own limit, past which nghttp2 holds it until a stream ends.
  // Bounded like the HTTP/1.1 line: null (503) once that many wait.
  if (target.max_connections != 0 && open >= target.max_connections && least_busy) {
    if (least_busy->streamCount() >= least_busy->maxStreams() + HostConnectionLimit::kMaxWaiting) {
      return nullptr;
    }
    return least_busy;
  }
  auto connection = std::make_shared<Http2ClientConnection>(executor, target, settings);
  connection->start();
  connections.push_back(connection);
  return connection;
}

bool Http2ClientPool::submitAttempt(asio::any_io_executor executor,
                                    const StreamExchangePtr& exchange, const HeaderList& fields,
                                    const UpstreamTarget& target, const Http2Settings& settings) {
  const auto connection = connectionFor(executor, target, settings);
  if (!connection) {
    exchange->localReply(
        LocalReplyReason::kUpstreamOverflow, 503,
        "cluster '" + target.cluster_name + "': all " + std::to_string(target.max_connections) +
            " connections this worker may open to the endpoint "
            "(max_connections_per_host) are full and " +
            std::to_string(HostConnectionLimit::kMaxWaiting) + " streams already wait");
    return false;
  }
  if (!connection->submit(exchange, fields)) {
    exchange->localReply(LocalReplyReason::kUpstreamReset, 502,
                         "cluster '" + target.cluster_name +
                             "': the upstream HTTP/2 connection refused a new stream");
    return false;
  }
  if (exchange->attempts) {
    exchange->attempts->attemptStarted(*exchange);
  }
  return true;
}

void Http2ClientPool::forward(asio::any_io_executor executor, const StreamExchangePtr& exchange,
                              const HeaderList& fields, const UpstreamTarget& target,
                              const Http2Settings& settings) {
  if (!submitAttempt(executor, exchange, fields, target, settings)) {
    return;
  }
  if (target.route_timeout.count() > 0) {
    asio::co_spawn(
        executor,
        enforceRouteTimeout(exchange, std::chrono::steady_clock::now() + target.route_timeout,
                            target.cluster_name),
        asio::detached);
  }
}

void Http2ClientPool::retireAll() {
  for (auto& [endpoint, connections] : connections_) {
    for (const auto& connection : connections) {
      connection->closeWhenIdle();
    }
  }
  connections_.clear();
}

size_t Http2ClientPool::connectionCount() const {
  size_t count = 0;
  for (const auto& [endpoint, connections] : connections_) {
    count += connections.size();
  }
  return count;
}

}  // namespace weft::proxy
