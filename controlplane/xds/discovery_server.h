#pragma once

#include <grpcpp/grpcpp.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "controlplane/resources/built_resource.h"
#include "controlplane/xds/sotw_session.h"
#include "controlplane/xds/xds_metrics.h"
#include "weft/v1/discovery.grpc.pb.h"

namespace weft::controlplane {

// Computes the resources of one proxy from the current configuration generation.
using ComputeForProxy =
    std::function<std::shared_ptr<const ProxyResources>(const weft::v1::Node& node)>;

// What proxy-status shows about one stream.
struct StreamStatus {
  uint64_t stream_id = 0;
  std::string peer;
  weft::v1::Node node;
  std::chrono::system_clock::time_point connected_at;
  std::array<TypeState, kResourceTypeCount> types;
};

class SotwStream;

// The aggregated discovery service (docs/xds-protocol.md). gRPC's callback API runs each
// stream's reads and writes on gRPC threads; every protocol decision is made on one loop
// thread (`loop`), where the sessions and the current configuration live, so no session state
// is shared between threads. A stream and the loop meet only in StreamLink, a small
// mutex-guarded hand-off for outgoing messages.
class DiscoveryServer final : public weft::v1::AggregatedDiscoveryService::CallbackService {
 public:
  DiscoveryServer(boost::asio::io_context& loop, std::string control_plane_id,
                  std::shared_ptr<XdsMetrics> metrics);
  ~DiscoveryServer() override;

  grpc::ServerBidiReactor<weft::v1::DiscoveryRequest, weft::v1::DiscoveryResponse>* StreamResources(
      grpc::CallbackServerContext* context) override;

  // A new configuration generation, made by a change at `changed_at`; every connected proxy
  // gets what changed for it. Call on the loop thread.
  void setConfiguration(ComputeForProxy compute_for_proxy,
                        std::chrono::steady_clock::time_point changed_at);

  // Ends every stream with UNAVAILABLE (shutdown: proxies reconnect to another replica). Call
  // on the loop thread.
  void closeAll();

  // Call on the loop thread.
  std::vector<StreamStatus> status() const;
  size_t connectedStreams() const { return sessions_.size(); }

  // Internal, called by streams (any thread): they post to the loop.
  struct StreamLink;
  void streamStarted(std::shared_ptr<StreamLink> link);
  void requestReceived(uint64_t id, weft::v1::DiscoveryRequest request);
  void streamEnded(uint64_t id);

 private:
  struct Connection {
    std::shared_ptr<StreamLink> link;
    std::unique_ptr<SotwSession> session;
    std::chrono::system_clock::time_point connected_at;
  };

  void compute(Connection& connection, std::chrono::steady_clock::time_point changed_at);

  boost::asio::io_context& loop_;
  std::string control_plane_id_;
  std::shared_ptr<XdsMetrics> metrics_;
  ComputeForProxy compute_;
  std::map<uint64_t, Connection> sessions_;
  std::atomic<uint64_t> next_stream_id_{1};
};

}  // namespace weft::controlplane
