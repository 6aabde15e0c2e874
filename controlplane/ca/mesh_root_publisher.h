#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/backoff/exponential_backoff.h"
#include "common/kube/async_api_client.h"

namespace weft::controlplane::ca {

// Where the mesh root is published, and how persistently.
struct MeshRootPublisherOptions {
  std::string namespace_ = "weft-system";
  std::string name = "weft-mesh-root";
  // Delays between attempts after a failure (the API unreachable, 403 for a missing grant, 5xx).
  BackoffOptions backoff{std::chrono::seconds(1), std::chrono::minutes(2), 2.0};
  std::chrono::milliseconds request_timeout{5000};
};

// The data key of the ConfigMap: the name a Secret or ConfigMap volume gives the file, which the
// injector mounts into pods for their proxy's `tls.ca_file`.
inline constexpr std::string_view kMeshRootKey = "root-cert.pem";

// Whether `config_map` (a ConfigMap as the API returns it) already holds exactly `bundle_pem` as
// its only data, with the part-of=weft label: then nothing is written.
bool meshRootUpToDate(const boost::json::object& config_map, const std::string& bundle_pem);

// The ConfigMap to create (`current` null) or to replace `current` with: data is
// {root-cert.pem: bundle} and nothing else (binaryData dropped too), labelled
// app.kubernetes.io/part-of=weft. A replacement keeps the rest of `current`'s metadata,
// resourceVersion included, so the PUT fails with 409 rather than overwrite a change it has not
// seen.
std::string meshRootConfigMap(const MeshRootPublisherOptions& where, const std::string& bundle_pem,
                              const boost::json::object* current);

// Counters of a MeshRootPublisher; a plain snapshot.
struct MeshRootPublisherStats {
  uint64_t writes = 0;     // creates and replacements that succeeded
  uint64_t failures = 0;   // attempts that failed (each retried after a backoff)
  bool published = false;  // the ConfigMap holds the latest bundle given
};

// Publishes the CA's trust bundle (what proxies receive as `trust-bundle`) to a ConfigMap, so
// that the sidecar injector can give every pod the roots that verify the control plane's
// serving certificate. Level-triggered: each attempt reads the ConfigMap and writes only when
// it differs, creating it when missing; a failed attempt is logged, counted
// (weft_cp_ca_mesh_root_publish_failures_total) and retried with exponential backoff; a new
// bundle starts an attempt at once. Every replica publishes the bundle it signs with, so the
// ConfigMap follows a root rotation as soon as the first replica reloads.
//
// Runs on the client's executor; call everything on that thread. Destroy it only once the
// executor's loop has stopped for good: a request in flight resumes into it.
class MeshRootPublisher {
 public:
  MeshRootPublisher(kube::AsyncApiClient& client, MeshRootPublisherOptions options,
                    prometheus::Registry& registry);
  ~MeshRootPublisher();
  MeshRootPublisher(const MeshRootPublisher&) = delete;
  MeshRootPublisher& operator=(const MeshRootPublisher&) = delete;

  // The bundle to publish (PEM). Also when unchanged: an attempt then checks the ConfigMap
  // again and repairs it (SIGHUP after someone edited or deleted it).
  void publish(std::string bundle_pem);
  void stop();

  MeshRootPublisherStats stats() const;
  // "ConfigMap weft-system/weft-mesh-root", for logs.
  std::string location() const;

 private:
  struct State;
  enum class Outcome : uint8_t { kPublished, kUnchanged, kConflict, kFailed };
  boost::asio::awaitable<void> run(State& state);
  boost::asio::awaitable<Outcome> attempt(const std::string& bundle, std::string& error);

  kube::AsyncApiClient& client_;
  MeshRootPublisherOptions options_;
  prometheus::Counter* writes_;
  prometheus::Counter* failures_;
  prometheus::Gauge* published_;
  std::shared_ptr<State> state_;
};

}  // namespace weft::controlplane::ca
