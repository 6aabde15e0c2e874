#pragma once

#include <grpcpp/grpcpp.h>

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/xds_sim/call_registry.h"
#include "weft/v1/core.pb.h"
#include "weft/v1/discovery.grpc.pb.h"
#include "weft/v1/endpoint.pb.h"

namespace weft::xds_sim {

using Clock = std::chrono::steady_clock;

// The protocol variant the simulated proxies speak. State of the world only so far; delta
// would be a DeltaClient beside SotwClient (a DiscoveryCall over DeltaResources, subscriptions
// by difference), a value here and in parseMode() and makeDiscoveryClient().
enum class Mode { kStateOfTheWorld };

std::optional<Mode> parseMode(std::string_view text);
std::string_view modeName(Mode mode);

// Endpoints that arrived in one response.
struct EndpointsUpdate {
  // The response's version (state of the world: version_info).
  std::string version;
  // When the response came off the stream, and when its ACK was handed to the stream.
  Clock::time_point received;
  Clock::time_point acked;
  std::vector<weft::v1::ClusterLoadAssignment> assignments;
};

// What a protocol variant reports to the proxy that owns it. Called on the simulator's loop
// thread.
struct DiscoveryEvents {
  std::function<void(EndpointsUpdate&& update)> on_endpoints;
  // The stream now holds a response for everything the proxy subscribes to. Once per stream.
  std::function<void()> on_synced;
  // The stream ended; `established` is when its first response arrived (epoch if none did).
  std::function<void(const grpc::Status& status, Clock::time_point established)> on_closed;
};

// Counters of one client, over all its streams.
struct DiscoveryCounters {
  uint64_t streams = 0;
  uint64_t responses = 0;
  uint64_t acks = 0;
  uint64_t nacks = 0;
  uint64_t subscription_changes = 0;
};

// One simulated proxy's side of the discovery protocol, without reconnect policy (the owner
// decides when to open the next stream): it opens a stream, subscribes, keeps its by-name
// subscriptions equal to what the received resources reference, and answers every response.
// Subscriptions and accepted versions survive from one stream to the next, as in a proxy that
// reconnects. Used from the simulator's loop thread only.
class DiscoveryClient {
 public:
  virtual ~DiscoveryClient() = default;

  // Opens a new stream. Only when no stream is open.
  virtual void open() = 0;
  // Ends the open stream, if any, without reporting on_closed.
  virtual void close() = 0;

  virtual bool streamOpen() const = 0;
  // Whether the current stream holds a response for every subscription.
  virtual bool synced() const = 0;
  // When the first response of the current stream arrived; epoch before that.
  virtual Clock::time_point established() const = 0;
  // Whether the proxy currently subscribes to the ClusterLoadAssignment `name`.
  virtual bool subscribesEndpoints(const std::string& name) const = 0;
  virtual const DiscoveryCounters& counters() const = 0;
  // Versions and subscriptions, for the `proxy` command.
  virtual boost::json::object describe() const = 0;
};

// What every client of the simulator shares: the loop its state lives on, the channel's stub
// its stream goes through, and the registry that lets shutdown wait for gRPC to let go of the
// stream.
struct StreamContext {
  boost::asio::io_context& loop;
  weft::v1::AggregatedDiscoveryService::Stub& stub;
  CallRegistry& calls;
};

std::unique_ptr<DiscoveryClient> makeDiscoveryClient(Mode mode, StreamContext context,
                                                     weft::v1::Node node, DiscoveryEvents events);

}  // namespace weft::xds_sim
