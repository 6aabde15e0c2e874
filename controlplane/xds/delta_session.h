#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/resources/built_resource.h"
#include "controlplane/xds/session_state.h"
#include "weft/v1/discovery.pb.h"

namespace weft::controlplane {

// The delta (incremental) protocol of one DeltaResources stream (docs/xds-protocol.md §9),
// without the transport: requests go in through onRequest(), new resources through
// onResources(), responses come out through `send`. Not thread-safe: the server calls it from
// its one loop thread, like SotwSession.
//
// Per type and per resource, the session tracks what it believes the proxy holds (the
// BuiltResourcePtr it sent, or the version the proxy reported when it connected). A new
// configuration is compared with the previous one by pointer first, so a change costs the
// changed resources plus a pointer comparison per resource, and only resources whose content
// differs from what the proxy holds are sent.
class DeltaSession {
 public:
  using Send = std::function<void(weft::v1::DeltaDiscoveryResponse&&)>;

  // The subscription name that stands for every resource of the type computed for the proxy.
  static constexpr std::string_view kWildcard = "*";

  DeltaSession(std::string control_plane_id, Send send, SessionEvents events = {});

  // Handles one request. Returns an empty string, or why the stream must end
  // (INVALID_ARGUMENT): a first request without a node, an invalid message.
  std::string onRequest(const weft::v1::DeltaDiscoveryRequest& request);

  // The resources computed for this proxy, stamped with the time of the change that produced
  // them (for convergence metrics). Pushes what changed, as the protocol allows. A null pointer
  // (nothing computed) is ignored: the proxy keeps what it has.
  void onResources(std::shared_ptr<const ProxyResources> resources,
                   std::chrono::steady_clock::time_point changed_at);

  bool hasNode() const { return has_node_; }
  const weft::v1::Node& node() const { return node_; }
  // sent_version / acked_version / rejected_version hold system_version_info values.
  const TypeState& state(ResourceType type) const { return types_[index(type)]; }

 private:
  // What the proxy holds, per name: the resource sent, or, for a version the proxy reported in
  // initial_resource_versions, a stand-in carrying only name and version. Keyed by views of
  // the held resources' own names: tracking costs a pointer per resource.
  using HeldMap = std::map<std::string_view, BuiltResourcePtr>;

  struct TypeSlot : TypeState {
    HeldMap held;
    // Order-independent digest of the held (name, version) pairs: system_version_info.
    uint64_t held_digest = 0;
    // Names whose desired content may differ from what the proxy holds, examined at the next
    // response of the type.
    std::set<std::string, std::less<>> dirty;
    // Removals delayed by make-before-break (clusters and endpoints only).
    std::set<std::string, std::less<>> deferred;
    // Content the proxy rejected, name -> version ("" for a rejected removal): not sent again.
    std::map<std::string, std::string, std::less<>> rejected;
    // The response in flight: what the proxy held before it, per name it carries, to restore
    // on a NACK (null: held nothing).
    std::map<std::string, BuiltResourcePtr, std::less<>> in_flight;
    std::chrono::steady_clock::time_point sent_change_time{};
    // Whether a response must go out even without changes: a subscription was added, and the
    // proxy waits for an answer to finish its initial fetch.
    bool force = false;
    // Whether the type had its first request on this stream (initial_resource_versions).
    bool requested = false;
  };

  enum class Action {
    kNothing,   // the proxy holds the desired content already (or the name is not subscribed)
    kWithheld,  // the desired content is what the proxy rejected
    kDefer,     // a removal waiting for listeners and routes to move (make-before-break)
    kSend,
    kRemove,
  };

  static size_t index(ResourceType type) { return static_cast<size_t>(type); }
  static bool covers(const TypeSlot& slot, const std::string& name);

  // The resource named `name` of `type` in the current configuration, or null.
  BuiltResourcePtr find(ResourceType type, std::string_view name) const;
  Action decide(ResourceType type, const TypeSlot& slot, const std::string& name,
                const BuiltResourcePtr& desired,
                const std::function<bool()>& references_moving) const;

  void subscribe(ResourceType type, TypeSlot& slot, const std::string& name);
  void unsubscribe(TypeSlot& slot, const std::string& name);
  // The proxy no longer tracks `name`: drop everything the session remembers about it.
  void forget(TypeSlot& slot, std::string_view name);
  void handleAnswer(ResourceType type, TypeSlot& slot,
                    const weft::v1::DeltaDiscoveryRequest& request);
  // Marks the names of `type` whose resource differs between two configurations.
  void markChanged(ResourceType type, const std::vector<BuiltResourcePtr>& before,
                   const std::vector<BuiltResourcePtr>& after);

  static void putHeld(TypeSlot& slot, BuiltResourcePtr resource);
  static void eraseHeld(TypeSlot& slot, HeldMap::iterator it);
  static std::string systemVersion(const TypeSlot& slot);

  // Sends every type that has something new and may go now, in push order.
  void pump();
  bool earlierTypePending(ResourceType type) const;
  void sendChanges(ResourceType type);
  // Whether listeners or routes still have to move: a response in flight, or changes not yet
  // sent. Drops the examined names that need nothing.
  bool referencesMoving();
  bool hasUnsentChanges(ResourceType type);

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
