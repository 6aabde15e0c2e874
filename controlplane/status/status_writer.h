#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "common/kube/async_api_client.h"
#include "controlplane/source/kubernetes_source.h"

namespace weft::controlplane {

// The Accepted condition a resource should carry for `outcome`, given what it carries now:
// lastTransitionTime moves only when the status does (Kubernetes API conventions), so it is
// kept from `outcome.current` unless the status changes, and is `now` otherwise.
AcceptedCondition desiredCondition(const ResourceOutcome& outcome, const std::string& now);

// Whether the resource's status must be written: its Accepted condition or observedGeneration
// differ from what they should be.
bool statusNeedsWrite(const ResourceOutcome& outcome, const AcceptedCondition& desired);

// The merge patch of the status subresource that writes `desired`.
std::string statusPatch(const ResourceOutcome& outcome, const AcceptedCondition& desired);

struct StatusWriterStats {
  uint64_t writes = 0;    // statuses written
  uint64_t failures = 0;  // writes that failed (retried on the next pass)
  uint64_t passes = 0;
};

// Writes `.status` (observedGeneration, and the Accepted condition with reason and message) on
// every weft.dev resource whose status does not say what the control plane made of it, so
// `kubectl get` shows whether a policy took effect and `kubectl describe` why not. Level-
// triggered: each pass compares every resource's outcome with the status it carries (read by
// the watch), so a write lost to a crash or a leader change is made by the next pass, and a
// resource already right costs nothing.
//
// Only the leader writes (setLeading); passes run one at a time on the client's executor.
class StatusWriter {
 public:
  using Outcomes = std::function<std::map<ObjectId, ResourceOutcome>()>;

  StatusWriter(kube::AsyncApiClient& client, Outcomes outcomes);
  ~StatusWriter();
  StatusWriter(const StatusWriter&) = delete;
  StatusWriter& operator=(const StatusWriter&) = delete;

  // Starts (true) or stops (false) writing.
  void setLeading(bool leading);
  // Outcomes changed: a pass soon.
  void outcomesChanged();
  void stop();

  const StatusWriterStats& stats() const { return stats_; }

 private:
  struct State;
  boost::asio::awaitable<void> run(State& state);

  kube::AsyncApiClient& client_;
  Outcomes outcomes_;
  StatusWriterStats stats_;
  std::shared_ptr<State> state_;
};

}  // namespace weft::controlplane
