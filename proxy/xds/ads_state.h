#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "common/config/config_error.h"
#include "proxy/snapshot/snapshot.h"
#include "weft/v1/bootstrap.pb.h"
#include "weft/v1/discovery.pb.h"
#include "weft/v1/secret.pb.h"

namespace weft::proxy::xds {

// The resource types the proxy subscribes to, in the order requests are sent on a new stream.
enum class XdsType : uint8_t { kCluster, kEndpoints, kListener, kRoute, kSecret, kAuthorization };
inline constexpr size_t kXdsTypeCount = 6;
inline constexpr std::array<XdsType, kXdsTypeCount> kXdsTypes = {
    XdsType::kCluster, XdsType::kEndpoints, XdsType::kListener,
    XdsType::kRoute,   XdsType::kSecret,    XdsType::kAuthorization};

std::string_view xdsTypeUrl(XdsType type);
std::string_view xdsTypeName(XdsType type);  // "Cluster", "ClusterLoadAssignment", ...
bool isWildcardType(XdsType type);

// What the proxy holds of one type, for the admin endpoint and persistence.
struct XdsTypeStatus {
  std::string version;          // accepted version_info; empty before the first
  std::set<std::string> names;  // by-name types: the subscription
  size_t resources = 0;
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  weft::v1::ErrorDetail last_error;  // of the last NACK
};

// The proxy side of the discovery protocol, without the transport (docs/xds-protocol.md):
// keeps the last accepted response of each type, derives the by-name subscriptions from the
// resources that reference them, validates each response as a whole (message rules, then a
// trial build of the complete configuration with the proxy's own snapshot builder) and answers
// it with an ACK or a NACK that names the resource and field. The configuration the proxy runs
// is the bootstrap's static resources merged with the dynamic ones (assemble()): EDS clusters
// become static clusters with their endpoints, RDS names become inline route configurations.
// Runs on the proxy's main thread.
class AdsState {
 public:
  // Builds a snapshot from a complete configuration; null with `errors` filled when invalid.
  using Build = std::function<SnapshotPtr(const weft::v1::Bootstrap&, config::ConfigErrors&)>;

  AdsState(weft::v1::Bootstrap bootstrap, Build build);

  // Adds a string to the node's metadata (e.g. "admin_address", which weftctl proxy-config uses
  // to find the proxy's admin endpoint from the control plane's list).
  void setNodeMetadata(const std::string& key, const std::string& value);

  // The requests that open every subscription on a new stream, carrying the versions held
  // (from this process or the persisted file) so unchanged types are confirmed, not resent.
  // The first carries the node.
  std::vector<weft::v1::DiscoveryRequest> streamRequests() const;

  struct Outcome {
    weft::v1::DiscoveryRequest reply;  // the ACK or NACK
    // By-name subscriptions that changed because of this response.
    std::vector<weft::v1::DiscoveryRequest> subscription_changes;
    bool accepted = false;
    // Accepted with the version already held: nothing to rebuild.
    bool unchanged = false;
    // When accepted and changed: the snapshot of the new configuration.
    SnapshotPtr snapshot;
  };
  Outcome onResponse(const weft::v1::DiscoveryResponse& response);

  // Notes that the configuration now accepted runs (applied, or restored at start).
  void markApplied();

  // The configuration accepted since it last ran could not be applied after all (e.g. a
  // listener address that cannot be bound, found only when a warming listener got its routes):
  // goes back to what runs, and returns one NACK per type accepted since then, each for that
  // type's latest response, so the control plane sees every version that is not in force as
  // rejected, not just the response that completed the configuration.
  std::vector<weft::v1::DiscoveryRequest> rejectUnapplied(const weft::v1::ErrorDetail& error);

  // Whether every subscribed by-name resource has arrived (a listener waits for its routes,
  // a cluster for its endpoints: warming).
  bool complete() const;

  // The configuration now: static resources plus everything accepted.
  weft::v1::Bootstrap assemble() const;

  // Secrets the proxy makes itself (the workload certificate's "identity" and the CA's
  // "trust-bundle"), part of every configuration from now on, trial builds included. One
  // whose name a static or delivered secret already has is left out: a trust-bundle from the
  // control plane replaces the CA's.
  void setLocalSecrets(std::vector<weft::v1::Secret> secrets);
  // The configuration that runs (the last applied, or the static one before any), with the
  // local secrets as they are now: what to rebuild when only those changed.
  weft::v1::Bootstrap assembleApplied() const;

  // Loads a persisted file's responses as if received (each validated); false with `error`
  // when any is refused, in which case nothing is loaded.
  bool restore(const weft::v1::PersistedResources& persisted, std::string& error);
  weft::v1::PersistedResources persisted() const;

  const XdsTypeStatus& status(XdsType type) const { return status_[index(type)]; }
  // One line per type for the admin endpoint and logs: "Cluster=3f9a.. Listener=..".
  std::string versionSummary() const;
  bool hasDynamicResources() const;

 private:
  static size_t index(XdsType type) { return static_cast<size_t>(type); }

  // Assembles `responses` with the static resources, noting where each merged piece came
  // from so builder errors can be mapped back to a resource and field.
  struct Provenance;
  weft::v1::Bootstrap assembleFrom(
      const std::array<weft::v1::DiscoveryResponse, kXdsTypeCount>& responses,
      Provenance* provenance) const;
  // The by-name subscriptions implied by the given accepted state.
  std::array<std::set<std::string>, kXdsTypeCount> subscriptionsOf(
      const std::array<weft::v1::DiscoveryResponse, kXdsTypeCount>& responses) const;
  weft::v1::DiscoveryRequest request(XdsType type, const std::string& nonce) const;
  // Checks one response; fills `error` and returns false when it must be NACKed.
  bool check(XdsType type, const weft::v1::DiscoveryResponse& response,
             std::array<weft::v1::DiscoveryResponse, kXdsTypeCount>& candidate,
             SnapshotPtr& snapshot, weft::v1::ErrorDetail& error) const;

  weft::v1::Bootstrap bootstrap_;
  Build build_;
  std::set<std::string> static_clusters_;
  std::set<std::string> static_listeners_;
  std::set<std::string> static_routes_;
  std::set<std::string> static_secrets_;
  std::vector<weft::v1::Secret> local_secrets_;
  std::array<weft::v1::DiscoveryResponse, kXdsTypeCount> accepted_;
  std::array<XdsTypeStatus, kXdsTypeCount> status_;
  // The state that runs (markApplied), for rejectUnapplied().
  std::array<weft::v1::DiscoveryResponse, kXdsTypeCount> applied_accepted_;
  std::array<XdsTypeStatus, kXdsTypeCount> applied_status_;
};

}  // namespace weft::proxy::xds
