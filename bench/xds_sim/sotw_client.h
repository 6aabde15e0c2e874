#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "bench/xds_sim/discovery_call.h"
#include "bench/xds_sim/discovery_client.h"
#include "weft/v1/discovery.pb.h"

namespace weft::xds_sim {

using SotwCall = DiscoveryCall<weft::v1::DiscoveryRequest, weft::v1::DiscoveryResponse>;

// A proxy on a StreamResources stream (docs/xds-protocol.md §2-4): subscribes to Cluster and
// Listener (wildcard), derives its ClusterLoadAssignment names from the EDS clusters and its
// RouteConfiguration names from the HTTP filter chains, parses every resource received into
// its weft.v1 message and ACKs every response with the current names (NACKs one whose
// resources do not parse). Secrets and authorization policies are not followed: the control
// plane does not produce them yet, and without them the four types above are the whole load.
class SotwClient final : public DiscoveryClient, private CallOwner<weft::v1::DiscoveryResponse> {
 public:
  SotwClient(StreamContext context, weft::v1::Node node, DiscoveryEvents events);
  ~SotwClient() override;

  SotwClient(const SotwClient&) = delete;
  SotwClient& operator=(const SotwClient&) = delete;

  void open() override;
  void close() override;
  bool streamOpen() const override { return call_ != nullptr; }
  bool synced() const override { return synced_; }
  Clock::time_point established() const override { return established_; }
  bool subscribesEndpoints(const std::string& name) const override;
  const DiscoveryCounters& counters() const override { return counters_; }
  boost::json::object describe() const override;

 private:
  void onResponse(uint64_t call_id, weft::v1::DiscoveryResponse response,
                  Clock::time_point received) override;
  void onClosed(uint64_t call_id, grpc::Status status) override;

  // The types followed, in the order their first requests go out.
  enum TypeIndex : size_t { kCluster, kListener, kEndpoints, kRoute, kTypeCount };

  struct TypeState {
    // The version of the last response accepted, on any stream.
    std::string version;
    // By-name types: the names subscribed; what the last accepted response held.
    std::set<std::string> names;
    std::set<std::string> held;
    // A response of this type arrived on the current stream.
    bool answered = false;
  };

  static bool byName(size_t type) { return type == kEndpoints || type == kRoute; }
  static const std::string& typeUrl(size_t type);
  static std::optional<size_t> typeOf(const std::string& url);

  // Parses the response's resources. Returns an empty string, or why they do not parse (a
  // NACK). Fills the derived subscriptions and, for endpoints, the update.
  std::string accept(size_t type, const weft::v1::DiscoveryResponse& response,
                     std::set<std::string>& held, EndpointsUpdate& update);
  weft::v1::DiscoveryRequest request(size_t type, const std::string& nonce) const;
  void send(weft::v1::DiscoveryRequest request);
  // Makes `wanted` the subscription of the by-name `type`, with a request if it changed.
  void subscribe(size_t type, std::set<std::string> wanted);
  bool complete() const;

  StreamContext context_;
  weft::v1::Node node_;
  DiscoveryEvents events_;
  std::array<TypeState, kTypeCount> types_;
  std::shared_ptr<SotwCall> call_;
  uint64_t call_id_ = 0;
  bool node_sent_ = false;  // on the current stream
  bool synced_ = false;     // on the current stream
  Clock::time_point established_{};
  DiscoveryCounters counters_;
};

}  // namespace weft::xds_sim
