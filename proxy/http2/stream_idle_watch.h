#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>

#include "proxy/http2/stream_exchange.h"

namespace weft::proxy {

// Ends an exchange on which no byte moved in either direction for `idle`: the
// upstream side is cancelled, and the client gets a local reply
// "stream_idle_timeout" (504, or 408 while its request body is incomplete)
// when the response has not started, a stream reset otherwise. Progress is
// sampled from the exchange's body counters every quarter of `idle`, so no
// clock is read on the data path; the watch fires between `idle` and 1.25 x
// `idle` after the last byte. It ends as soon as the downstream goes away
// (which cancels `idle_timer`) or the exchange is complete.
boost::asio::awaitable<void> watchStreamIdle(StreamExchangePtr exchange,
                                             std::chrono::milliseconds idle,
                                             std::string cluster_name);

}  // namespace weft::proxy
