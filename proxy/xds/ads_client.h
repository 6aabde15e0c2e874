#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/backoff/exponential_backoff.h"
#include "proxy/xds/ads_state.h"
#include "proxy/xds/grpc_bidi_stream.h"
#include "weft/v1/bootstrap.pb.h"
#include "weft/v1/discovery.pb.h"

namespace weft::proxy::xds {

// The proxy's discovery client: one StreamResources stream to the control plane, opened from
// the main thread, re-opened with backoff and jitter when it fails. Responses are checked by
// AdsState and answered with ACK or NACK; accepted configurations are handed to `apply` once
// complete (warming), or after the fetch timeout with what has arrived; each applied
// configuration is persisted when the bootstrap asks for it. While the control plane is
// unreachable nothing changes: the proxy serves its last good configuration.
//
// The stream is a GrpcBidiStream on the main io_context: no thread of its own, and the
// protocol state is only touched there.
class AdsClient {
 public:
  // Applies a new configuration; returns an empty string, or why it could not be applied
  // (e.g. a listener address that cannot be bound).
  using Apply = std::function<std::string(SnapshotPtr snapshot, const std::string& versions)>;

  AdsClient(boost::asio::io_context& io_context, const weft::v1::Bootstrap& bootstrap,
            AdsState::Build build, Apply apply);
  ~AdsClient();

  AdsClient(const AdsClient&) = delete;
  AdsClient& operator=(const AdsClient&) = delete;

  // Loads the persisted configuration, if the bootstrap names one and it is usable. Returns the
  // snapshot to start with, or null (with the reason logged).
  SnapshotPtr restorePersisted();

  // Where this proxy's admin endpoint listens, announced in the node metadata.
  void setAdminAddress(const std::string& address) {
    state_.setNodeMetadata("admin_address", address);
  }

  // The secrets the proxy makes itself (workload certificate, the CA's trust bundle) changed:
  // they go into every configuration from now on, and the running one is rebuilt with them
  // and applied (not persisted: they are not the control plane's).
  void setLocalSecrets(std::vector<weft::v1::Secret> secrets);

  void start();
  // Ends the stream; no reconnect.
  void stop();

  const AdsState& state() const { return state_; }
  bool connected() const { return connected_; }
  uint64_t reconnects() const { return reconnects_; }
  // The configuration has been applied at least once (from the control plane or the file).
  bool hasApplied() const { return applied_ > 0; }
  // The versions of the configuration the workers run (what /config_dump shows); empty before
  // the first. Accepted responses that still wait for their references are not in it.
  const std::string& appliedVersions() const { return applied_versions_; }

  // Internal: events from the stream, on the main thread.
  void onResponse(uint64_t call_id, weft::v1::DiscoveryResponse response);
  void onClosed(uint64_t call_id, const GrpcStatus& status);

 private:
  void connect();
  void scheduleReconnect();
  void send(weft::v1::DiscoveryRequest request);
  std::string applyNow(SnapshotPtr snapshot, const char* why);
  void persist();
  std::string target() const;
  std::string readToken() const;

  boost::asio::io_context& io_context_;
  weft::v1::Bootstrap bootstrap_;
  AdsState::Build build_;
  Apply apply_;
  AdsState state_;
  ExponentialBackoff backoff_;
  boost::asio::steady_timer reconnect_timer_;
  boost::asio::steady_timer warming_timer_;
  std::chrono::milliseconds initial_fetch_timeout_{15000};
  // TLS to the server (ads.server.tls); null: cleartext.
  std::shared_ptr<const ControlPlaneTls> tls_;
  std::string tls_error_;
  std::shared_ptr<GrpcBidiStream> stream_;
  uint64_t call_id_ = 0;
  bool stopped_ = false;
  bool connected_ = false;
  bool warming_ = false;
  std::chrono::steady_clock::time_point stream_up_since_{};
  uint64_t reconnects_ = 0;
  uint64_t applied_ = 0;
  std::string applied_versions_;
};

}  // namespace weft::proxy::xds
