#include <algorithm>
#include <random>

#include "proxy/snapshot/snapshot.h"

namespace weft::proxy {
namespace {

// Copies the health checker's verdicts into the worker's hosts when they changed since the
// last copy.
void applyActiveHealth(const ActiveHealthVerdicts& verdicts, WorkerClusterState& state) {
  const uint64_t generation = verdicts.generation();
  if (generation == state.active_health_generation) {
    return;
  }
  state.active_health_generation = generation;
  for (lb::Host& host : state.hosts->hosts()) {
    if (host.index() < verdicts.size()) {
      state.hosts->setFlag(host, lb::HostFlag::kFailedActiveHealthCheck,
                           verdicts.failed(host.index()));
    }
  }
}

}  // namespace

uint32_t ClusterConfig::metricDestination(TrafficDirection direction, const lb::Host* host) const {
  if (direction == TrafficDirection::kInbound) {
    return metric_local;
  }
  if (host != nullptr && host->index() < metric_destinations.size()) {
    return metric_destinations[host->index()];
  }
  return metric_service;
}

WorkerClusterState& ClusterConfig::workerState(uint32_t worker_index) const {
  std::unique_ptr<WorkerClusterState>& slot = per_worker[worker_index];
  if (!slot) [[unlikely]] {
    // Made on first use: a proxy that knows 1,000 clusters but talks to a few
    // pays for the few. Seeds differ per worker so that round robin and random
    // picks of different workers do not move in lockstep.
    slot = std::make_unique<WorkerClusterState>();
    slot->hosts = lb_factory->createPrioritySet();
    std::random_device entropy;
    const uint64_t seed = (static_cast<uint64_t>(entropy()) << 32) ^ entropy() ^ worker_index;
    slot->balancer = lb_factory->create(*slot->hosts, seed);
    if (outlier) {
      slot->outlier = std::make_unique<OutlierDetector>(*outlier, *slot->hosts,
                                                        std::chrono::steady_clock::now());
    }
    slot->retry_budget = std::make_shared<RetryBudget>(
        retry_budget, static_cast<uint32_t>(per_worker.size()), std::chrono::steady_clock::now());
  }
  if (active_health) [[unlikely]] {
    applyActiveHealth(*active_health, *slot);
  }
  return *slot;
}

void ClusterConfig::adoptWorkerState(const ClusterConfig& previous, uint32_t worker_index) const {
  if (worker_index >= previous.per_worker.size() || !previous.per_worker[worker_index] ||
      worker_index >= per_worker.size()) {
    return;  // the worker never sent traffic there: nothing to carry
  }
  const WorkerClusterState& before = *previous.per_worker[worker_index];
  WorkerClusterState& state = workerState(worker_index);
  if (before.retry_budget) {
    if (retry_budget == previous.retry_budget && per_worker.size() == previous.per_worker.size()) {
      state.retry_budget = before.retry_budget;  // one bucket, whichever snapshot a request holds
    } else {
      state.retry_budget->adopt(*before.retry_budget);  // new settings: the balance carries over
    }
  }
  if (state.outlier && before.outlier) {
    state.outlier->adopt(*before.outlier);
  }
}

uint32_t ClusterConfig::connectionLimitShare(uint32_t worker_index) const {
  const auto workers = static_cast<uint32_t>(std::max<size_t>(per_worker.size(), 1));
  const uint32_t share =
      max_connections_per_host / workers + (worker_index < max_connections_per_host % workers);
  return std::max(share, 1u);
}

std::shared_ptr<HostConnectionLimit> ClusterConfig::connectionLimit(uint32_t worker_index,
                                                                    uint32_t host_index) const {
  if (max_connections_per_host == 0) {
    return nullptr;
  }
  auto& limits = workerState(worker_index).connection_limits;
  if (limits.size() <= host_index) {
    limits.resize(host_index + 1);
  }
  if (!limits[host_index]) {
    limits[host_index] = std::make_shared<HostConnectionLimit>(connectionLimitShare(worker_index));
  }
  return limits[host_index];
}

UpstreamTransport ClusterConfig::transportForIndex(uint32_t host_index) const {
  if (!tls) {
    return {};
  }
  UpstreamTransport transport;
  transport.tls = tls.get();
  uint32_t slot = kAnyMeshIdentity;
  if (tls->mode == UpstreamTlsConfig::Mode::kMesh && host_index < endpoint_tls.size()) {
    slot = endpoint_tls[host_index];
    if (slot == kPlaintextEndpoint) {
      return {};  // no sidecar there: plaintext
    }
    if (slot >= kFirstIdentity) {
      transport.expected_identity = mesh_identities[slot - kFirstIdentity];
    }
  }
  // Distinct per (settings, identity) within a snapshot, never 0, and no hashing per request.
  transport.pool_key =
      (reinterpret_cast<uintptr_t>(tls.get()) ^ (uint64_t{slot} * 0x9E3779B97F4A7C15ULL)) | 1;
  return transport;
}

}  // namespace weft::proxy
