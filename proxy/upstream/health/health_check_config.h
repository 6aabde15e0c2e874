#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace weft::proxy {

// A cluster's active health check (Cluster.health_check), as the checker reads it.
struct HealthCheckConfig {
  enum class Probe : uint8_t {
    kHttp,  // GET `path`; a status in `expected_statuses` is a success
    kGrpc,  // grpc.health.v1.Health/Check for `grpc_service`; SERVING is a success
    kTcp,   // a connection (and TLS handshake, for TLS clusters) is a success
  };
  Probe probe = Probe::kTcp;
  // The cluster speaks HTTP/2 (prior knowledge): HTTP probes go over HTTP/2 too. gRPC probes
  // always do.
  bool http2 = false;
  std::chrono::milliseconds timeout{1000};
  std::chrono::milliseconds interval{10'000};
  // Up to this much is added at random to every interval.
  std::chrono::milliseconds interval_jitter{0};
  uint32_t unhealthy_threshold = 3;
  uint32_t healthy_threshold = 2;

  // kHttp only.
  std::string path;
  std::string host;          // Host header (HTTP/1.1), :authority (HTTP/2 and gRPC)
  std::string grpc_service;  // kGrpc: the service asked about; empty: the whole server
  // [start, end) ranges; empty means [200, 400).
  std::vector<std::pair<int64_t, int64_t>> expected_statuses;
  std::vector<std::pair<std::string, std::string>> request_headers;
  std::string user_agent = "weft-health-check";

  bool expectedStatus(unsigned status) const;
  // A change in any setting makes the checker probe at once rather than at the old interval.
  bool operator==(const HealthCheckConfig&) const = default;
};

// Consecutive probe results of one endpoint and the verdict they add up to. A new endpoint is
// unhealthy until its first success (so traffic never reaches an endpoint that has not yet
// answered); after that it takes `unhealthy_threshold` failures in a row to become unhealthy
// and `healthy_threshold` successes in a row to become healthy again.
class EndpointHealthState {
 public:
  enum class Change : uint8_t { kNone, kBecameHealthy, kBecameUnhealthy };

  Change record(bool success, const HealthCheckConfig& config);

  bool healthy() const { return healthy_; }
  bool probed() const { return probed_; }
  uint32_t consecutiveFailures() const { return failures_; }
  uint32_t consecutiveSuccesses() const { return successes_; }

 private:
  bool healthy_ = false;
  bool probed_ = false;
  uint32_t failures_ = 0;
  uint32_t successes_ = 0;
};

}  // namespace weft::proxy
