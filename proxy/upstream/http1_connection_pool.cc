#include "proxy/upstream/http1_connection_pool.h"

#include <sys/socket.h>

#include <functional>

namespace weft::proxy {

namespace {

// True when the peer has not closed the connection and sent nothing unasked for.
// A stale keep-alive connection reads as EOF (0); an unsolicited byte from an
// idle HTTP/1.1 server means the connection cannot be trusted either.
bool stillIdle(DeadlineStream& stream) {
  char byte;
  const ssize_t peeked = ::recv(stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

size_t Http1ConnectionPool::EndpointHash::operator()(
    const boost::asio::ip::tcp::endpoint& endpoint) const {
  size_t hash = std::hash<unsigned short>()(endpoint.port());
  if (endpoint.address().is_v4()) {
    hash ^= std::hash<uint32_t>()(endpoint.address().to_v4().to_uint()) * 31;
  } else {
    for (unsigned char byte : endpoint.address().to_v6().to_bytes()) {
      hash = hash * 131 + byte;
    }
  }
  return hash;
}

UpstreamConnectionPtr Http1ConnectionPool::take(
    const boost::asio::ip::tcp::endpoint& endpoint,
    std::optional<std::chrono::milliseconds> idle_timeout, const HostConnectionLimit* limit,
    uint64_t transport_key, const ClusterCircuitCounts* circuit) {
  const std::chrono::milliseconds idle_limit = idle_timeout.value_or(limits_.idle_timeout);
  auto it = idle_.find(endpoint);
  if (it == idle_.end()) {
    return nullptr;
  }
  const auto now = std::chrono::steady_clock::now();
  auto& connections = it->second;
  // Most recently used first: it is the least likely to have been closed. Only
  // a connection counted by the caller's limit and circuit breaker (or, without
  // them, by none) will do: another cluster's, or an older config's, would go uncounted.
  for (size_t i = connections.size(); i-- > 0;) {
    if (connections[i].connection->limit.get() != limit ||
        connections[i].connection->transport_key != transport_key ||
        !connections[i].connection->circuit_slot.countsIn(circuit)) {
      continue;
    }
    IdleConnection candidate = std::move(connections[i]);
    connections.erase(connections.begin() + static_cast<std::ptrdiff_t>(i));
    const auto idle_for = now - candidate.since;
    if (idle_limit.count() > 0 && idle_for >= idle_limit) {
      continue;
    }
    // A connection back from a response moments ago is all but certainly open;
    // checking it would cost a syscall per request under load. One idle longer
    // may have met the upstream's keep-alive timeout: peek before trusting it.
    // A close that still slips through is retried once by the caller.
    if (idle_for < limits_.check_after || stillIdle(candidate.connection->stream)) {
      return std::move(candidate.connection);
    }
  }
  return nullptr;
}

void Http1ConnectionPool::release(const boost::asio::ip::tcp::endpoint& endpoint,
                                  UpstreamConnectionPtr connection) {
  connection->stream.expires_never();
  connection->response.reset();  // the finished response's fields go now, not at the next use
  if (connection->limit) {
    connection = connection->limit->handOver(std::move(connection));
    if (!connection) {
      return;
    }
  }
  auto& connections = idle_[endpoint];
  if (connections.size() >= limits_.max_idle_per_endpoint) {
    // Full: close the oldest rather than the one that just proved alive.
    connections.erase(connections.begin());
  }
  connections.push_back({std::move(connection), std::chrono::steady_clock::now()});
}

size_t Http1ConnectionPool::idleCount(const boost::asio::ip::tcp::endpoint& endpoint) const {
  auto it = idle_.find(endpoint);
  return it == idle_.end() ? 0 : it->second.size();
}

}  // namespace weft::proxy
