#pragma once

#include "proxy/io/deadline_stream.h"
#include "proxy/listener/downstream_peer.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "proxy/http1/downstream_session.h"

namespace weft::proxy {

// Proxies one downstream connection byte for byte to an upstream endpoint of the
// chain's cluster: bytes already read (by protocol detection) go first, then both
// directions are pumped until each has seen EOF. Half-close is passed on: EOF
// from one side shuts down sending to the other, which may go on talking. The
// pair is closed when both directions are done or nothing moved for the chain's
// idle timeout. Memory: one fixed buffer per direction.
//
// Counted in the golden metrics (weft_tcp_*) by `listener`'s direction: opened once the
// upstream connection is up, closed with the bytes each way at the end.
boost::asio::awaitable<void> proxyTcpConnection(DeadlineStream downstream, DownstreamPeer peer,
                                                boost::beast::flat_buffer initial_bytes,
                                                const ListenerConfig& listener,
                                                const TcpChainConfig& chain, WorkerContext& worker);

}  // namespace weft::proxy
