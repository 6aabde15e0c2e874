#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/kube/async_api_client.h"

namespace weft::kube {

struct LeaderElectionOptions {
  // The coordination.k8s.io/v1 Lease every replica competes for.
  std::string namespace_;
  std::string name;
  // This replica, as written in spec.holderIdentity (the pod's name).
  std::string identity;
  // How long a lease holds without renewal; others take over after that. Written to the Lease
  // in whole seconds (at least 1).
  std::chrono::milliseconds lease_duration{15000};
  // A leader that cannot renew for this long steps down (before the lease can have expired for
  // the others, so two leaders never act at once for long).
  std::chrono::milliseconds renew_deadline{10000};
  // How often the leader renews and the others look.
  std::chrono::milliseconds retry_period{2000};
  // Deadline of one request.
  std::chrono::milliseconds request_timeout{5000};
};

// Counters of a LeaderElector; a plain snapshot.
struct LeaderElectionStats {
  bool leader = false;
  uint64_t acquisitions = 0;  // times this replica became leader
  uint64_t losses = 0;        // times it stopped leading while running
  uint64_t renewals = 0;
  uint64_t failures = 0;   // requests that failed (transport, unexpected status)
  uint64_t conflicts = 0;  // updates that lost a race (409)
  std::string holder;      // the holder last seen
};

// Leader election on a Lease, as client-go's leaderelection does it:
//  - a replica takes the Lease when it is free (no holder) or expired: its renewTime is older
//    than leaseDurationSeconds *by this replica's own clock since it last saw the record
//    change*, so clock skew between replicas does not matter;
//  - every write carries the resourceVersion read, so of two replicas racing, one gets 409
//    Conflict and stays a follower;
//  - the leader renews every retry_period and steps down when it could not renew for
//    renew_deadline;
//  - on stop() the leader releases the Lease (holder cleared), so another replica takes over
//    at once instead of after lease_duration.
// Only the leader writes status; every replica serves xDS regardless.
//
// Runs on the client's executor; call everything on that thread. Destroy it only after
// stop()'s `done` has run, or once the executor's loop has stopped for good: until then its
// coroutine may still resume and use it.
class LeaderElector {
 public:
  using Callback = std::function<void(bool leading)>;

  LeaderElector(AsyncApiClient& client, LeaderElectionOptions options, Callback on_change);
  ~LeaderElector();
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  void start();
  // Stops competing. A leader releases the Lease first (bounded by request_timeout); `done`
  // is called when that is over (at once for a follower).
  void stop(std::function<void()> done);

  bool leading() const { return stats_.leader; }
  const LeaderElectionStats& stats() const { return stats_; }

 private:
  struct State;
  boost::asio::awaitable<void> run(State& state);
  // One round: read the Lease and create, renew or take it, or observe it. True when this
  // replica holds the Lease after the round.
  boost::asio::awaitable<bool> tryAcquireOrRenew(State& state);
  boost::asio::awaitable<void> release(State& state);
  void setLeader(bool leading);
  std::string leasePath() const;
  int64_t leaseSeconds() const;
  // The deadline of one request: for the leader, bounded by its renew deadline.
  std::chrono::milliseconds requestTimeout() const;

  AsyncApiClient& client_;
  const LeaderElectionOptions options_;
  Callback on_change_;
  LeaderElectionStats stats_;
  // The record last seen, and when (by the local clock) it last changed.
  std::string observed_holder_;
  std::string observed_renew_time_;
  std::chrono::steady_clock::time_point observed_at_{};
  std::chrono::steady_clock::time_point last_renewal_{};
  std::shared_ptr<State> state_;
};

// Kubernetes MicroTime for `when`: RFC 3339 in UTC with microseconds,
// "2026-11-28T10:00:00.123456Z".
std::string microTime(std::chrono::system_clock::time_point when);

}  // namespace weft::kube
