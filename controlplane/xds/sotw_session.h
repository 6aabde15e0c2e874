#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "controlplane/resources/built_resource.h"
#include "controlplane/xds/session_state.h"
#include "weft/v1/discovery.pb.h"

namespace weft::controlplane {

// The state-of-the-world protocol of one StreamResources stream (docs/xds-protocol.md §3-6),
// without the transport: requests go in through onRequest(), new resources through
// onResources(), responses come out through `send`. Not thread-safe: the server calls it from
// its one loop thread, which keeps every stream's decisions in one order.
class SotwSession {
 public:
  using Send = std::function<void(weft::v1::DiscoveryResponse&&)>;

  SotwSession(std::string control_plane_id, Send send, SessionEvents events = {});

  // Handles one request. Returns an empty string, or why the stream must end
  // (INVALID_ARGUMENT): a first request without a node, an invalid message.
  std::string onRequest(const weft::v1::DiscoveryRequest& request);

  // The resources computed for this proxy, stamped with the time of the change that produced
  // them (for convergence metrics). Pushes what changed, as the protocol allows.
  void onResources(std::shared_ptr<const ProxyResources> resources,
                   std::chrono::steady_clock::time_point changed_at);

  bool hasNode() const { return has_node_; }
  const weft::v1::Node& node() const { return node_; }
  const TypeState& state(ResourceType type) const { return types_[index(type)]; }

 private:
  struct TypeSlot : TypeState {
    // Whether a response must go out even if the version did not change (first request,
    // subscription change).
    bool force = false;
    // What the latest response carried, for make-before-break retention of clusters.
    std::vector<BuiltResourcePtr> sent;
    std::chrono::steady_clock::time_point sent_change_time{};
  };

  static size_t index(ResourceType type) { return static_cast<size_t>(type); }

  // The resources of `type` the proxy should receive now.
  std::vector<BuiltResourcePtr> desired(ResourceType type) const;
  static std::string setVersion(const std::vector<BuiltResourcePtr>& resources);
  // Sends every type that has something new and may go now, in push order.
  void pump();
  bool earlierTypePending(ResourceType type) const;

  std::string control_plane_id_;
  Send send_;
  SessionEvents events_;
  bool has_node_ = false;
  weft::v1::Node node_;
  std::shared_ptr<const ProxyResources> resources_;
  std::chrono::steady_clock::time_point changed_at_{};
  std::array<TypeSlot, kResourceTypeCount> types_;
  uint64_t next_nonce_ = 1;
};

}  // namespace weft::controlplane
