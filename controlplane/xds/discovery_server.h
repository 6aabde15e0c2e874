#pragma once

#include <grpcpp/grpcpp.h>

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "controlplane/resources/built_resource.h"
#include "controlplane/xds/delta_session.h"
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
  bool delta = false;
  weft::v1::Node node;
  std::chrono::system_clock::time_point connected_at;
  std::array<TypeState, kResourceTypeCount> types;
};

// The aggregated discovery service (docs/xds-protocol.md), both variants: StreamResources
// (state of the world) and DeltaResources. gRPC's callback API runs each stream's reads and
// writes on gRPC threads; every protocol decision is made on one loop thread (`loop`), where
// the sessions and the current configuration live, so no session state is shared between
// threads. A stream and the loop meet only in its link, a small mutex-guarded hand-off for
// outgoing messages (discovery_stream.h).
class DiscoveryServer final : public weft::v1::AggregatedDiscoveryService::CallbackService {
 public:
  DiscoveryServer(boost::asio::io_context& loop, std::string control_plane_id,
                  std::shared_ptr<XdsMetrics> metrics);
  ~DiscoveryServer() override;

  grpc::ServerBidiReactor<weft::v1::DiscoveryRequest, weft::v1::DiscoveryResponse>* StreamResources(
      grpc::CallbackServerContext* context) override;
  grpc::ServerBidiReactor<weft::v1::DeltaDiscoveryRequest, weft::v1::DeltaDiscoveryResponse>*
  DeltaResources(grpc::CallbackServerContext* context) override;

  // A new configuration generation, made by a change at `changed_at`; every connected proxy
  // gets what changed for it. Call on the loop thread.
  void setConfiguration(ComputeForProxy compute_for_proxy,
                        std::chrono::steady_clock::time_point changed_at);

  // Ends every stream with UNAVAILABLE (shutdown: proxies reconnect to another replica). Call
  // on the loop thread.
  void closeAll();

  // Call on the loop thread.
  std::vector<StreamStatus> status() const;
  size_t connectedStreams() const { return connections_.size(); }

  // Called by streams (any thread); each posts to the loop.
  void streamStarted(uint64_t id, std::string peer, std::function<void(grpc::Status)> finish,
                     SotwSession::Send send);
  void streamStarted(uint64_t id, std::string peer, std::function<void(grpc::Status)> finish,
                     DeltaSession::Send send);
  void requestReceived(uint64_t id, weft::v1::DiscoveryRequest request);
  void requestReceived(uint64_t id, weft::v1::DeltaDiscoveryRequest request);
  void streamEnded(uint64_t id);
  uint64_t nextStreamId() { return next_stream_id_.fetch_add(1); }

 private:
  // One stream and its protocol session (exactly one of sotw / delta).
  struct Connection {
    std::string peer;
    std::function<void(grpc::Status)> finish;
    std::unique_ptr<SotwSession> sotw;
    std::unique_ptr<DeltaSession> delta;
    std::chrono::system_clock::time_point connected_at;

    bool hasNode() const { return sotw ? sotw->hasNode() : delta->hasNode(); }
    const weft::v1::Node& node() const { return sotw ? sotw->node() : delta->node(); }
    const TypeState& state(ResourceType type) const {
      return sotw ? sotw->state(type) : delta->state(type);
    }
    void onResources(std::shared_ptr<const ProxyResources> resources,
                     std::chrono::steady_clock::time_point changed_at) {
      if (sotw) {
        sotw->onResources(std::move(resources), changed_at);
      } else {
        delta->onResources(std::move(resources), changed_at);
      }
    }
  };

  SessionEvents sessionEvents(uint64_t id);
  void addConnection(uint64_t id, Connection connection);
  // Posts the creation of a stream's connection to the loop; `make_session` adds its session.
  void addConnectionOnLoop(uint64_t id, std::string peer, std::function<void(grpc::Status)> finish,
                           std::function<void(Connection&)> make_session);
  template <class Request>
  void handleRequest(uint64_t id, const Request& request);
  void compute(Connection& connection, std::chrono::steady_clock::time_point changed_at);

  boost::asio::io_context& loop_;
  std::string control_plane_id_;
  std::shared_ptr<XdsMetrics> metrics_;
  ComputeForProxy compute_;
  std::map<uint64_t, Connection> connections_;
  std::atomic<uint64_t> next_stream_id_{1};
};

}  // namespace weft::controlplane
